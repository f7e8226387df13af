"""Scanning the example service's vendored environment: dependency paths, upgrade advice,
policy verdicts with expiring waivers, and the report formats (JSON, SARIF 2.1.0, VEX)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.scan.conftest import NOW, VULNERABLE

from roost.scan.inventories import collect
from roost.scan.policy import describe_finding, judge
from roost.scan.report import rows, to_json, to_sarif, to_vex
from roost.scan.sbom import validate_cyclonedx
from roost.scan.scanning import ScanResult, scan
from roost.scan.vulndb import VulnDB
from roost.spec.scans import EnvironmentScan, ScanIgnore


@pytest.fixture
def result(db: VulnDB) -> ScanResult:
    return scan(collect(VULNERABLE, name="vulnerable"), db, now=NOW)


def test_transitive_findings_with_every_path_and_the_fix(result: ScanResult) -> None:
    by_id = {f.id: f for f in result.findings}
    assert list(by_id) == ["GHSA-q2q7-5pp4-w6pg", "GHSA-pq67-6m6q-mj2v", "GHSA-v845-jxx5-vc9f"]
    redos = by_id["GHSA-q2q7-5pp4-w6pg"]
    assert (redos.name, redos.version, redos.severity.label) == ("urllib3", "1.26.4", "high 7.5")
    assert redos.paths == (
        ("requests", "urllib3"),
        ("boto3", "botocore", "urllib3"),
        ("boto3", "s3transfer", "botocore", "urllib3"),
    )
    assert redos.fixed == "1.26.5"
    # what the metadata allows, naming who declares it; not a claim that it works
    assert redos.advice == (
        "pin urllib3>=1.26.5 (allowed by the declared requirements of botocore 1.29.0, "
        "requests 2.31.0; metadata only, not a test that they work with it)"
    )
    # The only fix is 2.5.0, which botocore's urllib3<1.27 excludes: boto3 has to move.
    redirects = by_id["GHSA-pq67-6m6q-mj2v"]
    assert redirects.severity.label == "medium 6.3"  # CVSS v4
    assert redirects.advice == (
        "upgrade boto3 (botocore requires urllib3<1.27,>=1.25.4) to a release that allows "
        "urllib3>=2.5.0"
    )
    cookie = by_id["GHSA-v845-jxx5-vc9f"]
    assert cookie.aliases == ("CVE-2023-43804", "PYSEC-2023-192")  # counted once
    assert describe_finding(redos) == "GHSA-q2q7-5pp4-w6pg urllib3 1.26.4 (high 7.5, fix 1.26.5)"


def test_policy_threshold_and_expiring_waivers(result: ScanResult) -> None:
    strict = EnvironmentScan(fail_on="high")
    verdict = judge(result.findings, rules=[], settings=strict, now=NOW)
    assert not verdict.passed
    assert [f.id for f in verdict.blocking] == ["GHSA-q2q7-5pp4-w6pg"]
    assert len(verdict.below) == 2

    rule = ScanIgnore(
        id="CVE-2021-33503",  # an alias, not the id shown
        package="urllib3",
        reason="only trusted endpoints",
        expires=datetime(2026, 7, 1, tzinfo=UTC),
    )
    waived = judge(result.findings, rules=[rule], settings=strict, now=NOW)
    assert waived.passed
    assert [w.finding.id for w in waived.waived] == ["GHSA-q2q7-5pp4-w6pg"]

    later = judge(
        result.findings, rules=[rule], settings=strict, now=datetime(2026, 7, 2, tzinfo=UTC)
    )
    assert not later.passed
    assert (
        later.expired_note(later.blocking[0]) == "ignore rule for CVE-2021-33503 expired 2026-07-01"
    )

    other_package = rule.model_copy(update={"package": "requests"})
    assert not judge(result.findings, rules=[other_package], settings=strict, now=NOW).passed
    assert judge(result.findings, rules=[], settings=EnvironmentScan(), now=NOW).passed
    assert not judge(
        result.findings, rules=[rule], settings=EnvironmentScan(fail_on="medium"), now=NOW
    ).passed


def test_report_formats(result: ScanResult) -> None:
    rule = ScanIgnore(
        id="GHSA-v845-jxx5-vc9f", reason="no cookies", expires=datetime(2027, 1, 1, tzinfo=UTC)
    )
    verdict = judge(
        result.findings, rules=[rule], settings=EnvironmentScan(fail_on="high"), now=NOW
    )
    table = rows(result, verdict)
    assert table[0]["path"] == "requests → urllib3 (+2 more)"
    assert table[0]["status"] == "blocks"
    assert table[2]["status"] == "waived until 2027-01-01"

    data = to_json(result, verdict)
    assert data["policy"]["blocking"] == ["GHSA-q2q7-5pp4-w6pg"]
    assert ScanResult.from_dict(data).findings == result.findings

    sarif = to_sarif(result, verdict)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {f.id for f in result.findings}
    first = run["results"][0]
    assert first["ruleId"] == "GHSA-q2q7-5pp4-w6pg"
    assert first["level"] == "error"
    assert [loc["fullyQualifiedName"] for loc in first["locations"][0]["logicalLocations"]] == [
        "requests → urllib3",
        "boto3 → botocore → urllib3",
        "boto3 → s3transfer → botocore → urllib3",
    ]
    assert run["results"][2]["suppressions"][0]["justification"] == "no cookies"
    for item in run["results"]:
        assert set(item) >= {"ruleId", "level", "message", "locations"}
        assert item["message"]["text"]

    import json

    vex = to_vex(result, verdict)
    assert validate_cyclonedx(json.dumps(vex)) is None
    assert vex["vulnerabilities"][0]["affects"][0]["ref"] == "pkg:pypi/urllib3@1.26.4"
    assert vex["vulnerabilities"][2]["analysis"]["response"] == ["will_not_fix"]
