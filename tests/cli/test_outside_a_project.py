"""Outside a project, commands say so instead of creating state; API commands find this
project's own control plane or say that none runs — never another project's on a default port.
Real CLI processes (and a real `roost serve` for the other project)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests._roost import EXAMPLE, roost, serving

NO_API_ENV = {"ROOST_API_URL": ""}


def _one_error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("roost: error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ["events"],
        ["db", "info"],
        ["doctor"],
        ["status"],
        ["ps"],
        ["history", "web"],
        ["weights", "web", "web-r1=100"],
        ["rollout", "list"],
    ],
)
def test_outside_a_project_commands_say_so_and_create_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    in_cwd = roost(*command, cwd=empty, env=NO_API_ENV)
    assert "not a roost project" in _one_error_line(in_cwd, 2)
    named = roost(*command, "--project", str(empty), cwd=tmp_path, env=NO_API_ENV)
    line = _one_error_line(named, 2)
    assert f"no roost.yaml in {empty}" in line
    assert list(empty.iterdir()) == [], "nothing may be created outside a project"
    assert not (tmp_path / ".roost").exists()


def test_a_store_named_explicitly_needs_no_project(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    result = roost("db", "info", "--database-url", url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dialect:         sqlite" in result.stdout


def test_api_commands_never_reach_another_projects_control_plane(tmp_path: Path) -> None:
    other = tmp_path / "other"
    mine = tmp_path / "mine"
    for root in (other, mine):
        root.mkdir()
        shutil.copy(EXAMPLE, root / "roost.yaml")
    with serving(other) as served:
        # No control plane was ever started for mine: say so, do not guess an address.
        never = roost("status", "--project", str(mine), env=NO_API_ENV)
        line = _one_error_line(never, 1)
        assert f"no control plane runs for the project in {mine}" in line
        assert "roost up" in line
        assert served.url not in never.stdout

        # Mine's control plane died without cleaning up (kill -9) and its port now belongs to
        # the other project's server: the recorded process is gone, so nothing is called.
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        (mine / ".roost").mkdir()
        (mine / ".roost" / "api.json").write_text(
            json.dumps({"url": served.url, "pid": gone.pid}) + "\n"
        )
        stale = roost("status", "--project", str(mine), env=NO_API_ENV)
        assert "no control plane runs for the project" in _one_error_line(stale, 1)

        # The other project's own commands still find it through its own record.
        status = roost("status", "--project", str(other), env=NO_API_ENV)
        assert status.returncode == 0, status.stderr
