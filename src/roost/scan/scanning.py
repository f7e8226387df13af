"""Scanning: an inventory against the vulnerability database → findings with paths and fixes.

The result is plain data (:class:`ScanResult`) that is stored per artifact digest and judged
by :mod:`roost.scan.policy` later — a policy can change (a waiver expires) without scanning
again, while a newer database is a reason to scan again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from roost.scan.findings import Finding
from roost.scan.inventories import Inventory
from roost.scan.matching import (
    Match,
    match_record,
    merge,
    package_upgrade,
    ranges_match,
    severity_inputs,
)
from roost.scan.osv import Record
from roost.scan.paths import explain, requirers
from roost.scan.severity import best_score

FORMAT = 1


class Database(Protocol):
    def lookup(self, ecosystem: str, name: str) -> list[Record]: ...
    def get(self, record_id: str) -> Record | None: ...
    def stamp(self) -> str | None: ...


@dataclass(frozen=True)
class PackageSummary:
    """Every finding of one installed package, and the single version that clears them all."""

    name: str
    version: str
    findings: int
    clears_all: str | None
    """The smallest version no advisory of the package affects; None when no fix does."""
    allowed_by: tuple[str, ...] = ()
    """The installed packages whose declared requirements admit ``clears_all`` (metadata
    only: whether they *work* with it is not known offline)."""
    excluded_by: tuple[str, ...] = ()
    """Requirements that exclude ``clears_all`` (``botocore requires urllib3<1.27``)."""

    @property
    def text(self) -> str:
        """``Django 3.2: 3.2.25 clears all 25 findings``, with what the metadata says."""
        count = plural(self.findings, "finding")
        head = f"{self.name} {self.version}: "
        if self.clears_all is None:
            return head + f"no single known release clears all {count}"
        every = f"all {count}" if self.findings > 1 else count
        out = head + f"{self.clears_all} clears {every}"
        if self.excluded_by:
            return out + f"; excluded by {'; '.join(self.excluded_by)}"
        if self.allowed_by:
            return out + (
                f" (allowed by the declared requirements of {', '.join(self.allowed_by)}; "
                "metadata only, not a test that they work with it)"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "findings": self.findings,
            "clears_all": self.clears_all,
            "allowed_by": list(self.allowed_by),
            "excluded_by": list(self.excluded_by),
            "text": self.text,
        }


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 finding``, ``2 findings``; ``nouns`` for an irregular plural."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


@dataclass
class ScanResult:
    subject: str
    scanned_at: datetime
    vulndb: str | None
    """When the database scanned against was last imported."""
    components: int
    findings: list[Finding]
    warnings: list[str] = field(default_factory=list)
    digest: str | None = None
    """The artifact scanned, when it was one."""
    packages: list[PackageSummary] = field(default_factory=list)
    """Per affected package: how many findings, and which one version clears them all."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "subject": self.subject,
            "digest": self.digest,
            "scanned_at": self.scanned_at.isoformat(),
            "vulndb": self.vulndb,
            "components": self.components,
            "findings": [f.to_dict() for f in self.findings],
            "warnings": list(self.warnings),
            "packages": [p.to_dict() for p in self.packages],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanResult:
        return cls(
            subject=str(data["subject"]),
            scanned_at=datetime.fromisoformat(str(data["scanned_at"])),
            vulndb=data.get("vulndb"),
            components=int(data.get("components") or 0),
            findings=[Finding.from_dict(f) for f in data.get("findings") or []],
            warnings=[str(w) for w in data.get("warnings") or []],
            digest=data.get("digest"),
            packages=[
                PackageSummary(
                    name=str(p["name"]),
                    version=str(p["version"]),
                    findings=int(p["findings"]),
                    clears_all=p.get("clears_all"),
                    allowed_by=tuple(p.get("allowed_by") or ()),
                    excluded_by=tuple(p.get("excluded_by") or ()),
                )
                for p in data.get("packages") or []
            ],
        )


def scan(
    inventory: Inventory, db: Database, *, now: datetime, digest: str | None = None
) -> ScanResult:
    """Match every component of ``inventory`` against ``db``."""
    matches: list[Match] = []
    warnings = list(inventory.notes)
    withdrawn: set[str] = set()
    for component in inventory.components.values():
        unparseable = False
        for record in db.lookup(component.ecosystem, component.name):
            where = {
                "name": component.name,
                "version": component.version,
                "ecosystem": component.ecosystem,
            }
            if record.withdrawn is not None:
                # Only worth a word when it would have matched this very version.
                if ranges_match(record, **where)[0] is not None:
                    withdrawn.add(record.id)
                continue
            match, bad = match_record(record, **where)
            unparseable = unparseable or bad
            if match is not None:
                matches.append(match)
        if unparseable:
            warnings.append(
                f"{component.name} {component.version}: unparseable version for "
                f"{component.ecosystem}; only the advisories' explicit version lists were checked"
            )
    if withdrawn:
        shown = ", ".join(sorted(withdrawn)[:5]) + (", …" if len(withdrawn) > 5 else "")
        warnings.append(
            f"{plural(len(withdrawn), 'withdrawn advisory', 'withdrawn advisories')} that "
            f"would match an installed version ignored: {shown}"
        )
    parents = inventory.parents()
    findings = [
        explain(inventory, _aliased_severity(f, db), parents=parents) for f in merge(matches)
    ]
    return ScanResult(
        subject=inventory.name,
        scanned_at=now,
        vulndb=db.stamp(),
        components=len(inventory.components),
        findings=findings,
        warnings=warnings,
        digest=digest,
        packages=_packages(inventory, matches, findings),
    )


def _aliased_severity(finding: Finding, db: Database) -> Finding:
    """A finding without a severity takes the worst of its aliases' records in the database
    (PYSEC advisories rarely carry CVSS; the GHSA or CVE record of the same bug often does)."""
    if finding.severity.rating != "unknown":
        return finding
    vectors: list[str] = []
    words: list[str] = []
    for alias in finding.aliases:
        record = db.get(alias)
        if record is not None and record.withdrawn is None:
            more_vectors, more_words = severity_inputs(record)
            vectors += more_vectors
            words += more_words
    score = best_score(vectors, words)
    return finding if score.rating == "unknown" else finding.with_changes(severity=score)


def _packages(
    inventory: Inventory, matches: list[Match], findings: list[Finding]
) -> list[PackageSummary]:
    by_package: dict[tuple[str, str], list[Match]] = {}
    for match in matches:
        by_package.setdefault((match.package, match.version), []).append(match)
    out = []
    for (package, version), group in by_package.items():
        mine = [f for f in findings if f.package == package and f.version == version]
        clears = package_upgrade(group)
        allowed: tuple[str, ...] = ()
        excluded: tuple[str, ...] = ()
        if clears is not None and mine:
            allowed, excluded = requirers(inventory, mine[0].package_key, clears)
        out.append(
            PackageSummary(
                name=group[0].name,
                version=version,
                findings=len(mine),
                clears_all=clears,
                allowed_by=allowed,
                excluded_by=excluded,
            )
        )
    out.sort(key=lambda p: (-p.findings, p.name.lower()))
    return out
