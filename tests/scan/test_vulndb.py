"""Importing OSV records: a folder, an all.zip, idempotence, newer-wins, and bad input that
is skipped with a warning naming the file while the rest is imported."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from tests.scan.conftest import NOW, OSV

from roost.scan.vulndb import VulnDB, VulnDBError


def _zip(target: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for name, data in members.items():
            out.writestr(name, data)
    return target


def test_import_a_folder_and_look_up_by_normalized_name(db: VulnDB) -> None:
    info = db.info()
    assert info.records == 12
    assert info.ecosystems == {"PyPI": 11, "npm": 1}
    assert {r.id for r in db.lookup("PyPI", "urllib3")} == {
        "GHSA-v845-jxx5-vc9f",
        "GHSA-q2q7-5pp4-w6pg",
        "GHSA-pq67-6m6q-mj2v",
        "PYSEC-2023-192",
    }
    assert [r.id for r in db.lookup("PyPI", "PyYAML")] == ["GHSA-8q59-q68h-6hv4"]
    assert [r.id for r in db.lookup("PyPI", "pyyaml")] == ["GHSA-8q59-q68h-6hv4"]
    assert db.lookup("PyPI", "left-pad") == []
    assert db.stamp() == NOW.isoformat()


def test_import_is_idempotent_and_an_older_copy_does_not_win(db: VulnDB, tmp_path: Path) -> None:
    again = db.import_path(OSV, now=NOW)
    # identical records are unchanged, not "updated"
    assert (again.added, again.updated, again.unchanged, again.older) == (0, 0, 12, 0)
    old = json.loads((OSV / "GHSA-q2q7-5pp4-w6pg.json").read_text())
    old["modified"] = "2021-06-01T00:00:00Z"
    old["summary"] = "an older text"
    (tmp_path / "old.json").write_text(json.dumps(old))
    report = db.import_path(tmp_path / "old.json", now=NOW)
    assert (report.older, report.unchanged, report.updated) == (1, 0, 0)
    stored = db.get("GHSA-q2q7-5pp4-w6pg")
    assert stored is not None
    assert stored.summary != "an older text"
    assert db.info().records == 12
    # the same modified time with other content is a correction: updated
    fixed = json.loads((OSV / "GHSA-q2q7-5pp4-w6pg.json").read_text())
    fixed["summary"] = "a corrected text"
    (tmp_path / "fixed.json").write_text(json.dumps(fixed))
    corrected = db.import_path(tmp_path / "fixed.json", now=NOW)
    assert (corrected.updated, corrected.unchanged) == (1, 0)
    stored = db.get("GHSA-q2q7-5pp4-w6pg")
    assert stored is not None
    assert stored.summary == "a corrected text"


def test_all_zip_with_a_corrupt_member_and_a_malformed_record(tmp_path: Path) -> None:
    members = {f"{p.name}": p.read_bytes() for p in sorted(OSV.glob("*.json"))}
    members["not-json.json"] = b"{ this is not json"
    members["no-id.json"] = json.dumps({"modified": "2024-01-01T00:00:00Z"}).encode()
    members["bad-event.json"] = json.dumps(
        {
            "id": "GHSA-bad",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [{"ranges": [{"type": "ECOSYSTEM", "events": [{}]}]}],
        }
    ).encode()
    archive = _zip(tmp_path / "all.zip", members)
    # Damage one member's compressed bytes in place: its CRC check fails on read.
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zipped:
        info = zipped.getinfo("GHSA-8q59-q68h-6hv4.json")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
    for offset in range(start, start + 20):
        data[offset] ^= 0xFF
    archive.write_bytes(bytes(data))
    seen: list[tuple[int, int]] = []
    with VulnDB(tmp_path / "db.sqlite") as db:
        report = db.import_path(archive, now=NOW, progress=lambda d, t: seen.append((d, t)))
        assert report.added == 11
        assert len(report.warnings) == 4
        text = "\n".join(report.warnings)
        assert "all.zip:GHSA-8q59-q68h-6hv4.json: skipped: corrupt zip member" in text
        assert "all.zip:not-json.json: skipped" in text
        assert "all.zip:no-id.json: skipped: id: Field required" in text
        assert "all.zip:bad-event.json: skipped" in text
        assert seen[-1] == (15, 15)
        assert db.lookup("PyPI", "pyyaml") == []


def test_a_file_that_is_not_a_zip_is_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "all.zip"
    broken.write_bytes(b"PK\x03\x04 truncated")
    with VulnDB(tmp_path / "db.sqlite") as db, pytest.raises(VulnDBError, match="not a readable"):
        db.import_path(broken, now=NOW)
    with VulnDB(tmp_path / "db.sqlite") as db, pytest.raises(VulnDBError, match="does not exist"):
        db.import_path(tmp_path / "missing", now=NOW)


def test_a_folder_with_a_malformed_file_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    shutil.copytree(OSV, folder / "PyPI")
    (folder / "PyPI" / "broken.json").write_text("[1, 2]")
    with VulnDB(tmp_path / "db.sqlite") as db:
        report = db.import_path(folder, now=NOW)
    assert report.added == 12
    assert report.warnings == [
        f"{folder / 'PyPI' / 'broken.json'}: skipped: expected a JSON object, got list"
    ]
