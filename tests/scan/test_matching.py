"""OSV range semantics on real records: ECOSYSTEM and SEMVER ranges, introduced / fixed /
last_affected / limit, explicit version lists, PEP 440 pre/post/local releases, legacy
versions, withdrawn records, and alias merging."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.scan.conftest import record

from roost.scan.matching import match_record, merge, range_affects
from roost.scan.osv import Event, Range, parse_record
from roost.scan.versions import semver_key


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("1.26.4", True),
        ("1.26.16", True),
        ("1.26.16+ubuntu1", True),  # a local build of an affected release is affected
        ("1.26.17", False),
        ("1.26.17.post1", False),
        ("1.26.18", False),
        ("2.0.0a3", False),  # before the 2.x range starts, after the 1.x fix
        ("2.0.0", True),
        ("2.0.5", True),
        ("2.0.6rc1", True),  # a pre-release of the fix is still before the fix
        ("2.0.6", False),
        ("2.2.1", False),
    ],
)
def test_two_ranges_in_one_record(version: str, affected: bool) -> None:
    match, unparseable = match_record(
        record("GHSA-v845-jxx5-vc9f"), name="urllib3", version=version
    )
    assert (match is not None) is affected
    assert not unparseable


def test_names_compare_normalized() -> None:
    for name in ("PyYAML", "pyyaml", "PYYAML"):
        assert match_record(record("GHSA-8q59-q68h-6hv4"), name=name, version="5.3.1")[0]
    assert match_record(record("GHSA-h5c8-rqwp-cp95"), name="Jinja2", version="3.1.2")[0]
    assert match_record(record("GHSA-8q59-q68h-6hv4"), name="pyyaml", version="5.4")[0] is None


def test_last_affected_includes_that_version_and_has_no_fix() -> None:
    py = record("GHSA-w596-4wvx-j9j6")
    assert match_record(py, name="py", version="1.11.0")[0] is not None
    assert match_record(py, name="py", version="1.11.1")[0] is None
    match = match_record(py, name="py", version="1.10.0")[0]
    assert match is not None
    finding = merge([match])[0]
    assert finding.fixed is None
    assert finding.last_affected == "1.11.0"


def test_limit_caps_a_range() -> None:
    rng = Range(
        type="ECOSYSTEM",
        events=[Event(introduced="1.0"), Event(limit="1.5")],
    )
    assert range_affects(rng, "1.4.9", ecosystem="PyPI") is True
    assert range_affects(rng, "1.5", ecosystem="PyPI") is False
    assert range_affects(rng, "0.9", ecosystem="PyPI") is False


def test_semver_ranges_and_prerelease_order() -> None:
    semver = record("GHSA-c2qf-rxjj-qqgw")
    for version, affected in (
        ("7.5.1", True),
        ("7.5.2-rc.1", True),  # SemVer: a pre-release sorts before its release
        ("7.5.2", False),
        ("6.3.0", True),
        ("6.3.1", False),
        ("5.7.1", True),
        ("5.7.2", False),
        ("6.0.0-beta.1", False),  # above 5.7.2 (fixed), below 6.0.0 (introduced)
    ):
        hit = match_record(semver, name="semver", version=version, ecosystem="npm")[0]
        assert (hit is not None) is affected, version
    assert semver_key("1.0.0-alpha") < semver_key("1.0.0-alpha.1")  # type: ignore[operator]
    assert semver_key("1.0.0-alpha.beta") < semver_key("1.0.0-beta")  # type: ignore[operator]
    assert semver_key("1.0.0-beta.2") < semver_key("1.0.0-beta.11")  # type: ignore[operator]
    assert semver_key("1.0.0-rc.1") < semver_key("1.0.0")  # type: ignore[operator]
    assert semver_key("1.0.0+build.5") == semver_key("1.0.0")


def test_explicit_versions_catch_legacy_versions_and_say_unparseable() -> None:
    pysec = record("PYSEC-2023-192")
    # "dev" is listed explicitly: affected even though PEP 440 cannot order it.
    hit, bad = match_record(pysec, name="urllib3", version="dev")
    assert hit is not None
    assert not bad
    # Not listed and not orderable: no match, but the caller learns it could not tell.
    hit, bad = match_record(pysec, name="urllib3", version="1.26.x-custom")
    assert hit is None
    assert bad


def test_git_ranges_are_skipped_not_misread() -> None:
    pysec = record("PYSEC-2023-192")
    assert match_record(pysec, name="urllib3", version="1.26.17")[0] is None


def test_withdrawn_records_match_nothing() -> None:
    data = record("GHSA-q2q7-5pp4-w6pg").model_dump(mode="json", exclude_none=True)
    data["withdrawn"] = "2024-01-01T00:00:00Z"
    withdrawn = parse_record(data)
    assert withdrawn.withdrawn == datetime(2024, 1, 1, tzinfo=UTC)
    assert match_record(withdrawn, name="urllib3", version="1.26.4")[0] is None


def test_aliases_merge_so_one_cve_counts_once() -> None:
    matches = [
        match_record(record(rid), name="urllib3", version="1.26.4")[0]
        for rid in ("GHSA-v845-jxx5-vc9f", "PYSEC-2023-192", "GHSA-q2q7-5pp4-w6pg")
    ]
    findings = merge([m for m in matches if m is not None])
    assert [f.id for f in findings] == ["GHSA-q2q7-5pp4-w6pg", "GHSA-v845-jxx5-vc9f"]
    cookie = findings[1]
    assert cookie.aliases == ("CVE-2023-43804", "PYSEC-2023-192")
    assert cookie.severity.score == 5.9  # the GHSA's vector; the PYSEC record has none
    assert cookie.fixed == "1.26.17"
    assert findings[0].severity.rating == "high"
    assert findings[0].fixed == "1.26.5"


def test_smallest_upgrade_skips_a_fix_that_a_later_range_reintroduces() -> None:
    reintroduced = parse_record(
        {
            "id": "GHSA-xxxx-xxxx-xxxx",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "demo"},
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [
                                {"introduced": "0"},
                                {"fixed": "1.1"},
                                {"introduced": "1.1.post1"},
                                {"fixed": "1.3"},
                            ],
                        }
                    ],
                }
            ],
        }
    )
    match = match_record(reintroduced, name="demo", version="1.0")[0]
    assert match is not None
    # 1.1 is fixed and is the first version above 1.0 that no range affects.
    assert merge([match])[0].fixed == "1.1"
    match = match_record(reintroduced, name="demo", version="1.2")[0]
    assert match is not None
    assert merge([match])[0].fixed == "1.3"
