"""Scan reports people can act on: a per-package summary naming the one release that clears
every finding, advice that says what the metadata allows (and whose metadata), withdrawn
advisories mentioned only when they would have matched, counted in good English, and an
explicit policy for findings of unknown severity — after taking the severity of aliased
records the database holds.

The OSV records here are written for the tests from the OSV schema (ids in the OSV- namespace
so they cannot be mistaken for real advisories)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from roost.scan.inventories import Component, Inventory
from roost.scan.policy import judge, threshold_text, warning_text
from roost.scan.scanning import ScanResult, scan
from roost.scan.vulndb import VulnDB
from roost.spec.scans import EnvironmentScan

NOW = datetime(2026, 6, 1, tzinfo=UTC)
HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"  # 7.5


def _record(
    record_id: str,
    package: str,
    events: list[dict[str, str]],
    *,
    aliases: tuple[str, ...] = (),
    severity: str | None = None,
    withdrawn: bool = False,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record_id,
        "modified": "2026-01-01T00:00:00Z",
        "aliases": list(aliases),
        "summary": f"{record_id} in {package}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
    }
    if severity is not None:
        data["severity"] = [{"type": "CVSS_V3", "score": severity}]
    if withdrawn:
        data["withdrawn"] = "2026-02-01T00:00:00Z"
    return data


def _fixed(introduced: str, fixed: str) -> list[dict[str, str]]:
    return [{"introduced": introduced}, {"fixed": fixed}]


def _db(tmp_path: Path, records: list[dict[str, Any]]) -> VulnDB:
    folder = tmp_path / "osv"
    folder.mkdir()
    for data in records:
        (folder / f"{data['id']}.json").write_text(json.dumps(data))
    db = VulnDB(tmp_path / "vulndb" / "osv.sqlite")
    report = db.import_path(folder, now=NOW)
    assert not report.warnings
    return db


def _inventory() -> Inventory:
    """app requires webfw 3.2 (top level) and flaskish 1.1.2, which requires toolkit>=0.15."""
    components = {
        "app": Component("app", "1.0"),
        "webfw": Component("webfw", "3.2"),
        "flaskish": Component("flaskish", "1.1.2"),
        "toolkit": Component("toolkit", "0.16"),
        "pinned": Component("pinned", "1.0"),
    }
    return Inventory(
        name="shop",
        components=components,
        edges={
            "app": {"webfw": "", "flaskish": "", "pinned": ""},
            "flaskish": {"toolkit": ">=0.15"},
        },
        roots=["app"],
    )


RECORDS = [
    # webfw 3.2: three advisories with different fixes; 3.2.25 is the one that clears all.
    _record("OSV-2026-1", "webfw", _fixed("0", "3.2.1"), severity=HIGH),
    _record("OSV-2026-2", "webfw", _fixed("3.0", "3.2.5"), severity=HIGH),
    _record("OSV-2026-3", "webfw", _fixed("3.1", "3.2.25"), severity=HIGH),
    # toolkit: no score of its own, but its alias is in the database with one.
    _record("OSV-2026-10", "toolkit", _fixed("0", "2.3.8"), aliases=("CVE-2026-0010",)),
    _record("CVE-2026-0010", "other-name", _fixed("0", "1"), severity=HIGH),
    # pinned: no score anywhere.
    _record("OSV-2026-20", "pinned", _fixed("0", "1.1"), aliases=("CVE-2026-0020",)),
    # withdrawn: one would match the installed webfw, one is about old versions only.
    _record("OSV-2026-30", "webfw", _fixed("3.0", "3.3"), withdrawn=True),
    _record("OSV-2026-31", "webfw", _fixed("1.0", "2.0"), withdrawn=True),
]


@pytest.fixture
def result(tmp_path: Path) -> ScanResult:
    with _db(tmp_path, RECORDS) as db:
        return scan(_inventory(), db, now=NOW)


def test_one_version_that_clears_every_finding_of_a_package(result: ScanResult) -> None:
    webfw = [f for f in result.findings if f.name == "webfw"]
    assert sorted(f.fixed or "" for f in webfw) == ["3.2.1", "3.2.25", "3.2.5"]
    summary = {p.name: p for p in result.packages}
    assert summary["webfw"].findings == 3
    assert summary["webfw"].clears_all == "3.2.25"
    meta = "; metadata only, not a test that they work with it)"
    assert summary["webfw"].text == (
        "webfw 3.2: 3.2.25 clears all 3 findings (allowed by the declared requirements of "
        "app 1.0" + meta
    )
    assert summary["pinned"].text == (
        "pinned 1.0: 1.1 clears 1 finding (allowed by the declared requirements of app 1.0" + meta
    )
    # survives the stored form
    again = ScanResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert [p.text for p in again.packages] == [p.text for p in result.packages]


def test_advice_says_what_the_metadata_allows_and_whose(result: ScanResult) -> None:
    (toolkit,) = [f for f in result.findings if f.name == "toolkit"]
    assert toolkit.advice == (
        "pin toolkit>=2.3.8 (allowed by the declared requirements of flaskish 1.1.2; "
        "metadata only, not a test that they work with it)"
    )
    summary = {p.name: p for p in result.packages}["toolkit"]
    assert summary.text == (
        "toolkit 0.16: 2.3.8 clears 1 finding (allowed by the declared requirements of "
        "flaskish 1.1.2; metadata only, not a test that they work with it)"
    )
    assert "works" not in toolkit.advice


def test_withdrawn_warnings_name_only_records_that_would_match(result: ScanResult) -> None:
    withdrawn = [w for w in result.warnings if "withdrawn" in w]
    assert withdrawn == [
        "1 withdrawn advisory that would match an installed version ignored: OSV-2026-30"
    ]


def test_the_severity_of_an_aliased_record_is_used(result: ScanResult) -> None:
    by_name = {f.name: f for f in result.findings}
    assert by_name["toolkit"].severity.label == "high 7.5"  # from CVE-2026-0010
    assert by_name["pinned"].severity.rating == "unknown"  # nothing anywhere


def test_unknown_severity_follows_the_explicit_rule(result: ScanResult) -> None:
    strict = EnvironmentScan(fail_on="critical")
    assert strict.unknown == "fail"  # the documented default
    failed = judge(result.findings, rules=[], settings=strict, now=NOW, environment="production")
    assert [f.name for f in failed.blocking] == ["pinned"]
    assert threshold_text(failed) == (
        "at or above critical or of unknown severity (scan.unknown: fail)"
    )
    warn = EnvironmentScan(fail_on="critical", unknown="warn")
    warned = judge(result.findings, rules=[], settings=warn, now=NOW, environment="production")
    assert warned.passed
    assert [f.name for f in warned.warned] == ["pinned"]
    assert warning_text(warned) == (
        "1 finding of unknown severity does not block production (scan.unknown: warn): OSV-2026-20"
    )
    ignored = judge(
        result.findings,
        rules=[],
        settings=EnvironmentScan(fail_on="critical", unknown="ignore"),
        now=NOW,
    )
    assert ignored.passed
    assert not ignored.warned
    assert warning_text(ignored) is None
    # high findings still block at high, whatever the unknown rule
    at_high = judge(
        result.findings,
        rules=[],
        settings=EnvironmentScan(fail_on="high", unknown="ignore"),
        now=NOW,
    )
    assert sorted(f.name for f in at_high.blocking) == ["toolkit", "webfw", "webfw", "webfw"]


def test_reimporting_identical_records_reports_them_unchanged(tmp_path: Path) -> None:
    with _db(tmp_path, RECORDS) as db:
        again = db.import_path(tmp_path / "osv", now=NOW)
    assert (again.added, again.updated, again.unchanged, again.older) == (0, 0, len(RECORDS), 0)
