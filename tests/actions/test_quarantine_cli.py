"""`roost artifacts quarantine|quarantined|release`: one clear line for a bad digest, audited
with who did it, and a release of something not quarantined is an error."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from roost._util import event_catalog as events
from roost.cli import app
from roost.control.workspace import open_workspace

DIGEST = "sha256:" + "c" * 64
PROJECT = """\
project: q
version: 1
environments:
  dev: {}
services: []
"""


def _roost(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, [*args, "--project", str(tmp_path)], env={"COLUMNS": "200", "ROOST_USER": "alice"}
    )
    return result.exit_code, result.output


def test_quarantine_list_and_release(tmp_path: Path) -> None:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    code, out = _roost(tmp_path, "artifacts", "quarantine", "sha256:xyz", "--reason", "r")
    assert code == 2
    assert "'sha256:xyz' is not an artifact digest" in out
    code, out = _roost(tmp_path, "artifacts", "quarantine", f"oci:{DIGEST}", "-r", "CVE-1")
    assert (code, out) == (0, f"quarantined {DIGEST}: deploys of it are refused\n")
    code, out = _roost(tmp_path, "artifacts", "quarantined")
    assert code == 0
    assert DIGEST in out
    assert "CVE-1" in out
    code, out = _roost(tmp_path, "artifacts", "release", DIGEST, "-r", "rebuilt")
    assert (code, out) == (0, f"released {DIGEST}: it may be deployed again\n")
    code, out = _roost(tmp_path, "artifacts", "release", DIGEST, "-r", "again")
    assert code == 1
    assert "is not quarantined" in out
    with open_workspace(tmp_path) as ws:
        audit = ws.store.events.list("dev.roost.artifact.")
    assert [(e.type, e.actor) for e in audit] == [
        (events.ARTIFACT_RELEASED, "alice"),
        (events.ARTIFACT_QUARANTINED, "alice"),
    ]
    assert audit[0].data["quarantined_for"] == "CVE-1"
