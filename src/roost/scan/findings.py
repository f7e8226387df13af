"""A finding: one vulnerability (its advisory and every alias of it) in one installed package,
with why it is there (dependency paths) and what removes it (the smallest upgrade)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from roost.scan.severity import Score


@dataclass(frozen=True, slots=True)
class Finding:
    package: str
    """Normalized name (PEP 503 for PyPI): what rules and paths match on."""
    name: str
    """The name as installed."""
    version: str
    id: str
    """The advisory shown: a GHSA id when there is one, else the first record's id."""
    aliases: tuple[str, ...]
    """Every other id of the same vulnerability (CVE, PYSEC, GHSA …), sorted."""
    summary: str
    severity: Score
    ecosystem: str = "PyPI"
    fixed: str | None = None
    """The smallest version above the installed one that no merged advisory affects."""
    fixes: tuple[str, ...] = ()
    """Every fixed version the advisories name (for other release lines)."""
    last_affected: str | None = None
    unparseable: bool = False
    """The installed version is not valid for the ecosystem: only explicit lists matched."""
    paths: tuple[tuple[str, ...], ...] = ()
    """Each dependency chain from a top-level requirement down to ``package`` (inclusive)."""
    paths_truncated: int = 0
    advice: str = ""
    references: tuple[str, ...] = field(default=())

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    @property
    def package_key(self) -> str:
        """The inventory key of the package (see :func:`roost.scan.inventories.component_key`)."""
        return self.package if self.ecosystem == "PyPI" else f"{self.ecosystem}/{self.package}"

    @property
    def direct(self) -> bool:
        return any(len(p) == 1 for p in self.paths)

    def with_changes(self, **changes: Any) -> Finding:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "aliases": list(self.aliases),
            "package": self.package,
            "name": self.name,
            "version": self.version,
            "ecosystem": self.ecosystem,
            "summary": self.summary,
            "severity": self.severity.to_dict(),
            "fixed": self.fixed,
            "fixes": list(self.fixes),
            "last_affected": self.last_affected,
            "unparseable": self.unparseable,
            "paths": [list(p) for p in self.paths],
            "paths_truncated": self.paths_truncated,
            "advice": self.advice,
            "references": list(self.references),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        severity = data.get("severity") or {}
        return cls(
            package=str(data["package"]),
            name=str(data.get("name") or data["package"]),
            version=str(data["version"]),
            id=str(data["id"]),
            aliases=tuple(data.get("aliases") or ()),
            summary=str(data.get("summary") or ""),
            severity=Score(
                str(severity.get("rating", "unknown")),
                severity.get("score"),
                severity.get("vector"),
            ),
            ecosystem=str(data.get("ecosystem") or "PyPI"),
            fixed=data.get("fixed"),
            fixes=tuple(data.get("fixes") or ()),
            last_affected=data.get("last_affected"),
            unparseable=bool(data.get("unparseable")),
            paths=tuple(tuple(p) for p in data.get("paths") or ()),
            paths_truncated=int(data.get("paths_truncated") or 0),
            advice=str(data.get("advice") or ""),
            references=tuple(data.get("references") or ()),
        )
