"""`roost diff` and `roost apply`: roost.yaml on disk against what the control plane applied."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests._roost import REPO
from typer.testing import CliRunner

from roost.cli import app
from roost.store import open_store

HELLO = REPO / "examples" / "hello"


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "hello"
    shutil.copytree(HELLO, root, ignore=shutil.ignore_patterns(".roost"))
    return root


def test_diff_with_nothing_applied_adds_everything_and_creates_no_state(tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = CliRunner().invoke(app, ["diff", "-p", str(root)], env={"ROOST_DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    assert "nothing applied yet" in result.stderr
    assert "+ service hello" in result.stdout
    assert not (root / ".roost").exists()


def test_diff_against_the_applied_project_shows_field_changes(tmp_path: Path) -> None:
    root = _project(tmp_path)
    text = (root / "roost.yaml").read_text()
    with open_store(root=root) as store:
        store.applied.record(text, applied_by="alice")
    env = {"ROOST_DATABASE_URL": ""}
    same = CliRunner().invoke(app, ["diff", "-p", str(root), "--exit-code"], env=env)
    assert same.exit_code == 0, same.output
    assert same.stdout.strip() == "nothing to do"
    assert "by alice" in same.stderr

    (root / "roost.yaml").write_text(text.replace("replicas: 2", "replicas: 3"))
    changed = CliRunner().invoke(app, ["diff", "-p", str(root), "--exit-code"], env=env)
    assert changed.exit_code == 1, changed.output
    assert changed.stdout.splitlines() == [
        "~ service hello",
        "    replicas: 2 → 3",
        "0 to add, 1 to change, 0 to remove",
    ]
    as_json = CliRunner().invoke(app, ["diff", "-p", str(root), "--json"], env=env)
    data = json.loads(as_json.stdout)
    assert data["changes"][0]["fields"] == [{"path": "replicas", "before": 2, "after": 3}]


def test_diff_of_an_invalid_file_is_the_located_error(tmp_path: Path) -> None:
    root = _project(tmp_path)
    path = root / "roost.yaml"
    path.write_text(path.read_text().replace("replicas: 2", "replicas: two"))
    result = CliRunner().invoke(app, ["diff", "-p", str(root)], env={"ROOST_DATABASE_URL": ""})
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:")
