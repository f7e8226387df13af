"""A scan result as people and tools read it: table rows, JSON, SARIF 2.1.0, CycloneDX VEX.

Every format carries the same facts per finding — package, installed version, advisory and its
aliases, severity, the fixed version, every dependency path and the upgrade advice — and, when
a policy was applied, whether the finding blocks, is waived (with reason and expiry) or had a
waiver that expired.
"""

from __future__ import annotations

import uuid
from typing import Any

from roost.scan.findings import Finding
from roost.scan.policy import Verdict
from roost.scan.scanning import ScanResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "unknown": "warning",
    "none": "note",
}


def status_of(finding: Finding, verdict: Verdict | None) -> str:
    """``blocks`` / ``waived until …`` / ``expired waiver`` / ``-``."""
    if verdict is None:
        return "-"
    for item in verdict.waived:
        if item.finding is finding:
            return f"waived until {item.rule.expires.date()}"
    blocking = any(f is finding for f in verdict.blocking)
    note = verdict.expired_note(finding)
    if blocking:
        return "blocks" + (f" ({note})" if note else "")
    return note or "-"


def path_text(path: tuple[str, ...]) -> str:
    return " → ".join(path)


def rows(result: ScanResult, verdict: Verdict | None = None) -> list[dict[str, str]]:
    """One row per finding for a table: short, with the first path and the advice."""
    shown = []
    for finding in result.findings:
        paths = [path_text(p) for p in finding.paths]
        more = len(paths) - 1 + finding.paths_truncated
        shown.append(
            {
                "advisory": finding.id,
                "aliases": ", ".join(finding.aliases),
                "package": f"{finding.name} {finding.version}",
                "severity": finding.severity.label,
                "fixed": finding.fixed or "-",
                "path": (paths[0] if paths else finding.name)
                + (f" (+{more} more)" if more > 0 else ""),
                "paths": "\n".join(paths),
                "advice": finding.advice,
                "status": status_of(finding, verdict),
            }
        )
    return shown


def to_json(result: ScanResult, verdict: Verdict | None = None) -> dict[str, Any]:
    data = result.to_dict()
    for item, finding in zip(data["findings"], result.findings, strict=True):
        item["status"] = status_of(finding, verdict)
    if verdict is not None:
        data["policy"] = {
            "environment": verdict.environment,
            "fail_on": verdict.fail_on,
            "unknown": verdict.unknown_rule,
            "passed": verdict.passed,
            "warned": [f.id for f in verdict.warned],
            "blocking": [f.id for f in verdict.blocking],
            "waived": [
                {
                    "id": w.finding.id,
                    "rule": w.rule.id,
                    "reason": w.rule.reason,
                    "expires": w.rule.expires.isoformat(),
                }
                for w in verdict.waived
            ],
            "expired": [
                {"id": w.finding.id, "rule": w.rule.id, "expired": w.rule.expires.isoformat()}
                for w in verdict.expired
            ],
        }
    return data


def to_sarif(result: ScanResult, verdict: Verdict | None = None) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per advisory, one result per finding (a logical location per
    dependency path)."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for finding in result.findings:
        rules.setdefault(
            finding.id,
            {
                "id": finding.id,
                "name": finding.id.replace("-", ""),
                "shortDescription": {"text": finding.summary or finding.id},
                "helpUri": finding.references[0] if finding.references else None,
                "properties": {
                    "aliases": list(finding.aliases),
                    "security-severity": f"{finding.severity.score or 0:.1f}",
                    "tags": ["security", "vulnerability"],
                },
            },
        )
        if rules[finding.id]["helpUri"] is None:
            del rules[finding.id]["helpUri"]
        status = status_of(finding, verdict)
        result_item: dict[str, Any] = {
            "ruleId": finding.id,
            "level": _SARIF_LEVEL.get(finding.severity.rating, "warning"),
            "message": {
                "text": f"{finding.name} {finding.version} is affected by {finding.id} "
                f"({finding.severity.label}): {finding.summary}. {finding.advice}."
            },
            "locations": [
                {
                    "logicalLocations": [
                        {"fullyQualifiedName": path_text(path), "kind": "package"}
                        for path in finding.paths
                    ]
                }
            ],
            "properties": {
                "package": finding.name,
                "installedVersion": finding.version,
                "fixedVersion": finding.fixed,
                "paths": [list(p) for p in finding.paths],
                "status": status,
            },
        }
        if status.startswith("waived"):
            waiver = next(w for w in verdict.waived if w.finding is finding)  # type: ignore[union-attr]
            result_item["suppressions"] = [
                {"kind": "external", "justification": waiver.rule.reason, "status": "accepted"}
            ]
        results.append(result_item)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "roost scan",
                        "informationUri": "https://github.com/roost",
                        "rules": list(rules.values()),
                    }
                },
                "automationDetails": {"id": f"roost-scan/{result.subject}"},
                "results": results,
            }
        ],
    }


def to_vex(result: ScanResult, verdict: Verdict | None = None) -> dict[str, Any]:
    """CycloneDX 1.6 VEX: one vulnerability per finding, affecting its component's purl.

    Unwaived findings are ``in_triage`` with the upgrade as response; waived ones are
    ``in_triage`` too (a waiver is accepted risk, not a claim that the code is unaffected),
    with ``will_not_fix`` until the waiver expires and its reason as detail.
    """
    vulnerabilities = []
    for finding in result.findings:
        purl = _purl(finding)
        status = status_of(finding, verdict)
        waiver = None
        if verdict is not None and status.startswith("waived"):
            waiver = next(w for w in verdict.waived if w.finding is finding)
        analysis: dict[str, Any] = {"state": "in_triage"}
        if waiver is not None:
            analysis["response"] = ["will_not_fix"]
            analysis["detail"] = (
                f"waived until {waiver.rule.expires.isoformat()}: {waiver.rule.reason}"
            )
        elif finding.fixed:
            analysis["response"] = ["update"]
            analysis["detail"] = finding.advice
        item: dict[str, Any] = {
            "bom-ref": f"{finding.id}/{finding.package}@{finding.version}",
            "id": finding.id,
            "source": {"name": finding.id.split("-", 1)[0]},
            "references": [
                {"id": alias, "source": {"name": alias.split("-", 1)[0]}}
                for alias in finding.aliases
            ],
            "description": finding.summary or finding.id,
            "recommendation": finding.advice or None,
            "analysis": analysis,
            "affects": [
                {"ref": purl, "versions": [{"version": finding.version, "status": "affected"}]}
            ],
        }
        if finding.severity.score is not None:
            method = "CVSSv4" if (finding.severity.vector or "").startswith("CVSS:4") else "CVSSv31"
            item["ratings"] = [
                {
                    "score": finding.severity.score,
                    "severity": finding.severity.rating,
                    "method": method,
                    "vector": finding.severity.vector,
                }
            ]
        elif finding.severity.rating in ("low", "medium", "high", "critical"):
            item["ratings"] = [{"severity": finding.severity.rating, "method": "other"}]
        if item["recommendation"] is None:
            del item["recommendation"]
        vulnerabilities.append(item)
    components = {}
    for finding in result.findings:
        purl = _purl(finding)
        components[purl] = {
            "type": "library",
            "bom-ref": purl,
            "name": finding.name,
            "version": finding.version,
            "purl": purl,
        }
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": result.scanned_at.isoformat(),
            "component": {
                "type": "application",
                "name": result.subject,
                "bom-ref": f"roost:{result.subject}",
            },
        },
        "components": list(components.values()),
        "vulnerabilities": vulnerabilities,
    }


def _purl(finding: Finding) -> str:
    """The package URL of a finding's component (``pkg:pypi/name@version``)."""
    from packageurl import PackageURL

    kind = "pypi" if finding.ecosystem == "PyPI" else finding.ecosystem.lower()
    return str(PackageURL(type=kind, name=finding.package, version=finding.version))
