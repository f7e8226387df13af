"""`roost sbom`, `roost scan` and `roost vulndb` as a user runs them: bad input is one clear
line and a non-zero exit, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests._roost import roost
from tests.scan.conftest import OSV, VULNERABLE


def _one_line(result: object, code: int, text: str) -> None:
    assert result.returncode == code, result.stdout + result.stderr  # type: ignore[attr-defined]
    err = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert text in err, err


def test_bad_input(tmp_path: Path) -> None:
    db = ("--db", str(tmp_path / "db.sqlite"))
    _one_line(roost("scan", str(VULNERABLE), *db), 1, "is empty")
    broken = tmp_path / "all.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    _one_line(roost("vulndb", "import", str(broken), *db), 1, "is not a readable zip file")
    offline = roost("vulndb", "sync", "--url", "http://127.0.0.1:9", *db)
    _one_line(offline, 1, "cannot download http://127.0.0.1:9/PyPI/all.zip")
    assert "roost vulndb import all.zip" in offline.stderr

    records = tmp_path / "records"
    shutil.copytree(OSV, records)
    (records / "truncated.json").write_text('{"id": "GHSA-trunc')
    imported = roost("vulndb", "import", str(records), *db)
    assert imported.returncode == 0
    assert f"roost: warning: {records / 'truncated.json'}: skipped:" in imported.stderr
    assert "12 new" in imported.stdout
    assert "1 skipped" in imported.stdout

    spdx = tmp_path / "sbom.json"
    spdx.write_text('{"spdxVersion": "SPDX-2.3"}')
    _one_line(roost("scan", str(spdx), *db), 2, "is not a CycloneDX SBOM")

    # A legacy version is scanned against explicit lists only, and says so.
    site = tmp_path / "env" / "site-packages" / "urllib3-dev.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.x-custom\n\n"
    )
    legacy = roost("scan", str(tmp_path / "env"), *db, "--format", "json")
    assert legacy.returncode == 0, legacy.stderr
    assert "urllib3 1.26.x-custom: unparseable version for PyPI" in legacy.stderr


def test_sbom_then_scan_the_sbom(tmp_path: Path) -> None:
    db = ("--db", str(tmp_path / "db.sqlite"))
    assert roost("vulndb", "import", str(OSV), *db).returncode == 0
    written = roost("sbom", str(VULNERABLE / "site-packages"), "-o", str(tmp_path / "bom.json"))
    assert written.returncode == 0, written.stderr
    table = roost("scan", str(tmp_path / "bom.json"), *db, env={"COLUMNS": "250"})
    assert table.returncode == 0, table.stderr
    assert "GHSA-q2q7-5pp4-w6pg" in table.stdout
    assert "3 vulnerabilities in 11 packages" in table.stdout
