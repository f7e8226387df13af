"""A rollout id shortened with "…" (as a narrow terminal's table used to show it, and as people
paste it) is accepted back by the commands that take one; `roost history` itself now folds long
cells instead of shortening them. Real CLI, real `roost serve`."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests._roost import REPO, roost, serving

from roost.control.workspace import open_workspace


def test_a_shortened_rollout_id_from_history_is_accepted_back(tmp_path: Path) -> None:
    root = tmp_path / "canary"
    shutil.copytree(REPO / "examples" / "canary", root)
    with open_workspace(root) as ws:
        config = ws.project.resolved_service("web").model_dump(mode="json", by_alias=True)
        release = ws.store.releases.create(
            "web", artifact="a", config=config, secrets={}, schema_requires="", created_by="t"
        )
        rollout = ws.store.rollouts.create(
            "web", "dev", to_release=release.id, strategy="canary", state="promoted"
        )
    with serving(root):
        shown = roost("history", "web", "-p", str(root), env={"COLUMNS": "80"})
        assert shown.returncode == 0, shown.stderr
        assert "…" not in shown.stdout  # folded onto more lines, never cut
        shortened = [rollout.id[:10] + "…"]
        status = roost("rollout", "status", shortened[0], "-p", str(root), "--json")
        assert status.returncode == 0, status.stderr
        assert rollout.id in status.stdout
        missing = roost("rollout", "status", "0000…", "-p", str(root))
        assert missing.returncode == 1
        assert "no rollout '0000…'" in missing.stderr
