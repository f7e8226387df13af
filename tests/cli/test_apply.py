"""`roost diff` and `roost apply`: roost.yaml on disk against what the control plane applied."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from tests._auth import cli_token
from tests._projects import project_down
from tests._roost import REPO, roost
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


SLO = """\
    slos:
      - name: availability
        objective: 99
        sli: {kind: ratio}
"""


def _slo_names(root: Path) -> list[str]:
    status = roost("slo", "status", "-p", str(root), "--json", timeout=60)
    assert "Traceback" not in status.stderr, status.stderr
    if not status.stdout.strip():
        return []
    return [s["slo"] for s in json.loads(status.stdout).get("slos", [])]


def _wait_for_slo(root: Path, name: str, *, deadline: float = 90) -> None:
    # The SLO loop evaluates in rounds; generous deadline for a loaded machine.
    end = time.monotonic() + deadline
    while name not in _slo_names(root):
        assert time.monotonic() < end, f"slo status never showed {name}"
        time.sleep(0.5)


def _applied_events(root: Path) -> list[dict[str, object]]:
    listed = roost("events", "-p", str(root), "--type", "dev.roost.project.applied", "--json")
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


@pytest.mark.timeout(300)
def test_apply_adds_an_slo_to_a_running_project(tmp_path: Path) -> None:
    root = _project(tmp_path)
    path = root / "roost.yaml"
    text = path.read_text()
    env = {"ROOST_PROJECT_POLL": "0", "ROOST_SLO_INTERVAL": "1"}  # only `roost apply` applies
    with project_down(root, env=env):
        up = roost("up", "-p", str(root), env=env, timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        unchanged = roost("diff", "-p", str(root))
        assert unchanged.returncode == 0, unchanged.stderr
        assert unchanged.stdout.strip() == "nothing to do"
        assert _slo_names(root) == []

        path.write_text(text + SLO)
        planned = roost("diff", "-p", str(root))
        assert "+ slo hello/availability" in planned.stdout
        alice = cli_token(root, "alice", "admin")  # applying roost.yaml is an admin's act
        applied = roost("apply", "-p", str(root), env={**env, **alice}, timeout=60)
        assert applied.returncode == 0, applied.stderr
        assert applied.stdout.splitlines()[:2] == [
            "+ slo hello/availability",
            "1 to add, 0 to change, 0 to remove",
        ]
        _wait_for_slo(root, "availability")
        again = roost("diff", "-p", str(root))
        assert (again.returncode, again.stdout.strip()) == (0, "nothing to do")
        events = _applied_events(root)
        assert events[0]["actor"] == "alice"
        assert "+ slo hello/availability" in events[0]["data"]["changes"]  # type: ignore[index]

        # An invalid file is refused with its located problem and changes nothing.
        path.write_text(text + SLO.replace("objective: 99", "objective: 0.99"))
        refused = roost("apply", "-p", str(root), env={**env, **alice}, timeout=60)
        assert refused.returncode == 2
        assert refused.stderr.startswith(f"{path}:")
        assert "objective is a percentage" in refused.stderr
        assert len(_applied_events(root)) == len(events)
        assert _slo_names(root) == ["availability"]

        # `roost up` on a running project applies the file as it is now (no file watch here).
        path.write_text((text + SLO).replace("HELLO_GREETING: hello", "HELLO_GREETING: hi"))
        again_up = roost("up", "-p", str(root), env=env, timeout=120)
        assert again_up.returncode == 0, again_up.stderr
        after = roost("diff", "-p", str(root))
        assert (after.returncode, after.stdout.strip()) == (0, "nothing to do")


@pytest.mark.timeout(300)
def test_the_control_plane_applies_a_changed_file_on_its_own(tmp_path: Path) -> None:
    root = _project(tmp_path)
    path = root / "roost.yaml"
    env = {"ROOST_PROJECT_POLL": "0.5", "ROOST_SLO_INTERVAL": "1"}
    with project_down(root, env=env):
        up = roost("up", "-p", str(root), env=env, timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        path.write_text(path.read_text() + SLO)
        _wait_for_slo(root, "availability")
        actors = [event["actor"] for event in _applied_events(root)]
        assert actors[0] == "roost serve (roost.yaml changed)"
        log = (root / ".roost" / "serve.log").read_text()
        assert "+ slo hello/availability" in log
