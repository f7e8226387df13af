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
from roost.scan.matching import Match, match_record, merge
from roost.scan.osv import Record
from roost.scan.paths import explain

FORMAT = 1


class Database(Protocol):
    def lookup(self, ecosystem: str, name: str) -> list[Record]: ...
    def stamp(self) -> str | None: ...


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
            if record.withdrawn is not None:
                withdrawn.add(record.id)
                continue
            match, bad = match_record(
                record,
                name=component.name,
                version=component.version,
                ecosystem=component.ecosystem,
            )
            unparseable = unparseable or bad
            if match is not None:
                matches.append(match)
        if unparseable:
            warnings.append(
                f"{component.name} {component.version}: unparseable version for "
                f"{component.ecosystem}; only the advisories' explicit version lists were checked"
            )
    if withdrawn:
        warnings.append(
            f"{len(withdrawn)} withdrawn advisories ignored: " + ", ".join(sorted(withdrawn)[:5])
        )
    parents = inventory.parents()
    findings = [explain(inventory, f, parents=parents) for f in merge(matches)]
    return ScanResult(
        subject=inventory.name,
        scanned_at=now,
        vulndb=db.stamp(),
        components=len(inventory.components),
        findings=findings,
        warnings=warnings,
        digest=digest,
    )
