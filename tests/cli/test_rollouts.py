"""Progressive rollouts as a user drives them: `roost deploy` promotes a good release, rolls a bad
one back automatically with traffic first, refuses a rollback across a schema migration and,
forced, restores the old release's config and secret. Real processes, real HTTP, real traffic.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from tests._canary import TOKENS, Load, get, rollout, router_url, running, write_project
from tests._roost import roost


def _one_line_error(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert stderr.startswith("roost: error: "), stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


@pytest.mark.timeout(480)
def test_promote_abort_traffic_first_schema_refusal_and_forced_restore(tmp_path: Path) -> None:
    root = tmp_path / "canary"
    write_project(root)
    with running(root):
        url = router_url(root)
        with Load(url) as load:
            # v2: new config, a rotated secret, a migration to schema 2 (it still runs on 1).
            write_project(
                root, greeting="v2", token="APP_TOKEN_V2", requires=">=1,<3", migrates_to=2
            )
            promoted = roost(
                "deploy", "web", "-p", str(root), "--as", "alice", env=TOKENS, timeout=120
            )  # fmt: skip
            assert promoted.returncode == 0, promoted.stdout + promoted.stderr
            assert "web-r2 promoted" in promoted.stdout
            good = rollout(root)
            kinds = [e["kind"] for e in good["timeline"]]
            assert kinds[0] == "started"
            assert "analysis" in kinds
            assert kinds.index("promoted") < kinds.index("schema_migrated")
            assert good["weights"] == {"web-r1": 0, "web-r2": 100}

            # v3: runs only on schema 2, and half of its answers are errors.
            write_project(
                root, greeting="v3", token="APP_TOKEN_V2", requires=">=2,<3", migrates_to=2
            )
            bad = roost(
                "deploy", "web", "-p", str(root), "--as", "alice",
                "--set-env", "HELLO_FAIL_RATE=0.5",
                env=TOKENS, timeout=120,
            )  # fmt: skip
            assert bad.returncode == 1, bad.stdout + bad.stderr
            assert "aborted by analysis" in bad.stderr
            assert "traffic reverted:" in bad.stdout
        aborted = rollout(root)
        abort = aborted["abort"]
        began, detected, reverted = (
            datetime.fromisoformat(abort[k])
            for k in ("fault_began_at", "detected_at", "traffic_reverted_at")
        )
        assert began <= detected <= reverted
        assert (reverted - detected).total_seconds() < 1.0
        assert aborted["weights"] == {"web-r2": 100, "web-r3": 0}
        # Traffic first: the canary served requests before the revert, and none after it.
        canary = load.by("web-r3")
        assert canary, "the canary never got traffic"
        assert not [s for s in canary if s.started > reverted], "a request reached the canary"
        assert [s for s in load.by("web-r2") if s.started > reverted]
        assert any(s.status == 500 for s in canary)
        kinds = [e["kind"] for e in aborted["timeline"]]
        assert kinds.index("aborted") < kinds.index("traffic_reverted")

        # Back to v1 is refused: v2 migrated the schema to 2, and v1 only runs on 1.
        refused = roost("rollback", "web", "-p", str(root), "--as", "bob")
        assert refused.returncode == 1
        _one_line_error(refused.stderr)
        assert "web-r2 migrated the schema to 2" in refused.stderr
        assert "roll forward" in refused.stderr
        history = get(root, "/api/v1/services/web/history")
        assert len(history) == 3  # up's first deploy, v2, v3: the refusal left nothing behind
        never = roost("rollback", "web", "--to", "web-r3", "-p", str(root), "--as", "bob")
        assert never.returncode == 1
        assert "never ran in dev" in never.stderr

        # Forced (and audited), fast: v1's code with v1's config file and v1's secret, although
        # roost.yaml now names another config and another secret.
        forced = roost(
            "rollback", "web", "--fast", "--force", "restored the v1 database from backup",
            "-p", str(root), "--as", "bob",
            timeout=120,
        )  # fmt: skip
        assert forced.returncode == 0, forced.stdout + forced.stderr
        assert "override (audited)" in forced.stdout
        config = httpx.get(url + "/config", timeout=10).json()
        assert config == {
            "revision": "web-r1",
            "config_greeting": "v1",
            "token_sha256": hashlib.sha256(b"alpha").hexdigest()[:12],
        }
        events = roost("events", "-p", str(root), "--type", "dev.roost.rollback.forced", "--json")
        assert "restored the v1 database from backup" in events.stdout
        # The owner's admin token acted as bob: the audit log says both.
        assert '"actor": "bob (impersonated by ' in events.stdout
        shown = roost("history", "web", "-p", str(root), env={"COLUMNS": "250"})
        assert shown.returncode == 0, shown.stderr
        assert "rollback" in shown.stdout
        assert "aborted" in shown.stdout
        diff = roost("release", "diff", "web-r1", "web-r2", "-p", str(root))
        assert diff.returncode == 0, diff.stderr
        assert "APP_TOKEN_V2" in diff.stdout
        assert "greeting.txt" in diff.stdout
