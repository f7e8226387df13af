"""Rollouts that wait for people: four-eyes approval, an analysis without data that pauses
instead of guessing, and a control plane killed with SIGKILL mid-rollout that resumes it where
the store says it was. Real processes, real HTTP."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from tests._auth import cli_token
from tests._canary import (
    TOKENS,
    Load,
    get,
    rollout,
    router_url,
    running,
    wait_for,
    write_project,
)
from tests._roost import roost

from roost._util.processes import pid_alive

APPROVAL = """\
    approval:
      required: true"""


def _canary_pids(root: Path, revision: str) -> set[int]:
    for rev in get(root, "/api/v1/ps")["services"]["web"]["revisions"]:
        if rev["revision"] == revision:
            return {r["pid"] for r in rev["replicas"]}
    return set()


@pytest.mark.timeout(480)
def test_approval_inconclusive_pause_and_resume_after_kill_9(tmp_path: Path) -> None:
    root = tmp_path / "canary"
    write_project(root, environment=APPROVAL)
    with running(root):
        # Two people with their own tokens: alice deploys (and may approve, but not her own
        # deploy), bob approves. The owner's token (found by the CLI) does the rest.
        alice = TOKENS | cli_token(root, "alice", "deployer")
        granted = roost("role", "grant", "alice", "approver", "--env", "dev", "-p", str(root))
        assert granted.returncode == 0, granted.stdout + granted.stderr
        bob = TOKENS | cli_token(root, "bob", "approver")
        # Bad input changes nothing: unknown release, unknown service.
        for args, expected in (
            (("--release", "web-r9"), "no release 'web-r9'"),
            (("--env", "prod"), "no environment 'prod'"),
        ):
            refused = roost("deploy", "web", *args, "-p", str(root), env=alice)
            assert refused.returncode == 1, refused.stdout
            assert expected in refused.stderr
            assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert len(get(root, "/api/v1/releases?service=web")) == 1

        write_project(root, greeting="v2", environment=APPROVAL)
        asked = roost("deploy", "web", "-p", str(root), env=alice)
        assert asked.returncode == 3, asked.stdout + asked.stderr
        assert "waits for approval" in asked.stderr
        rollout_id = rollout(root)["id"]
        own = roost("approve", rollout_id, "-p", str(root), env=alice)
        assert own.returncode == 1
        assert "alice requested this deploy and cannot also approve it (four eyes)" in own.stderr
        posing = roost("approve", rollout_id, "-p", str(root), "--as", "bob", env=alice)
        assert posing.returncode == 1
        assert "--as is impersonation, for admins" in posing.stderr
        second = roost("deploy", "web", "-p", str(root), env=TOKENS)
        assert second.returncode == 1
        assert f"already has a rollout in progress in dev: {rollout_id}" in second.stderr
        approved = roost("approve", rollout_id, "-p", str(root), env=bob)
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert "approved by bob" in approved.stdout

        # No traffic at all: analysis cannot tell, so the rollout pauses for a human.
        paused = wait_for(
            lambda: (r := rollout(root))["state"] == "paused" and r,
            timeout=120,
            what="the inconclusive pause",
        )
        assert paused["pause"]["kind"] == "inconclusive"
        assert "too few requests" in paused["pause"]["reason"]
        assert paused["weights"]["web-r2"] == 20  # it holds its weight, it does not guess
        status = roost("rollout", "status", "web", "-p", str(root), env={"COLUMNS": "250"})
        assert status.returncode == 0, status.stderr
        assert "paused: analysis inconclusive" in status.stdout

        with Load(router_url(root)) as load:
            resumed = roost("rollout", "resume", "web", "-p", str(root))
            assert resumed.returncode == 0, resumed.stdout + resumed.stderr
            wait_for(lambda: rollout(root)["step"] >= 2, timeout=120, what="step 3 (50%)")
            pids = _canary_pids(root, "web-r2")
            serve = json.loads((root / ".roost" / "api.json").read_text())["pid"]
            os.kill(serve, signal.SIGKILL)
            wait_for(lambda: not pid_alive(serve), timeout=10, what="the kill")
            (root / ".roost" / "api.json").unlink()
            again = roost("up", "-p", str(root), timeout=120)
            assert again.returncode == 0, again.stdout + again.stderr
            done = wait_for(
                lambda: (r := rollout(root))["state"] == "promoted" and r,
                timeout=120,
                what="the promotion after the restart",
            )
        assert done["id"] == rollout_id  # the same rollout, resumed — not a new one
        assert done["weights"] == {"web-r1": 0, "web-r2": 100}
        assert _canary_pids(root, "web-r2") == pids  # its replicas were adopted, not restarted
        assert not [s for s in load.samples if s.status != 200], "a request failed"
        kinds = [e["kind"] for e in done["timeline"]]
        assert kinds.count("started") == 1
        assert "approved" in kinds
        assert "resumed" in kinds
