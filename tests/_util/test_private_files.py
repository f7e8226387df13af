"""A ``.roost/`` written readable by others (an older roost, another umask) is closed: group
and other bits go, the owner's own bits stay, symbolic links are not followed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from roost._util.files import make_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_make_private_closes_the_tree_and_keeps_owner_bits(tmp_path: Path) -> None:
    state = tmp_path / ".roost"
    (state / "logs").mkdir(parents=True)
    (state / "state.db").write_text("db")
    (state / "logs" / "web.jsonl").write_text("{}")
    program = state / "venv-python"
    program.write_text("#!/bin/sh\n")
    outside = tmp_path / "shared.txt"
    outside.write_text("not roost's")
    os.chmod(outside, 0o644)
    (state / "link").symlink_to(outside)
    for path, mode in (
        (state, 0o755),
        (state / "logs", 0o775),
        (state / "state.db", 0o644),
        (state / "logs" / "web.jsonl", 0o666),
        (program, 0o755),
    ):
        os.chmod(path, mode)
    changed = make_private(state)
    assert set(changed) == {
        state,
        state / "logs",
        state / "state.db",
        state / "logs" / "web.jsonl",
        program,
    }
    assert _mode(state) == _mode(state / "logs") == 0o700
    assert _mode(state / "state.db") == _mode(state / "logs" / "web.jsonl") == 0o600
    assert _mode(program) == 0o700  # still runnable by its owner
    assert _mode(outside) == 0o644  # the link's target is not roost's to change
    assert make_private(state) == []
