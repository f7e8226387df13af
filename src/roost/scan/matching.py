"""Matching an installed package version against OSV records, per the OSV schema.

A version is affected by an ``affected`` entry when it is in the entry's explicit ``versions``
list or inside one of its ``ECOSYSTEM`` / ``SEMVER`` ranges. A range is evaluated the way the
schema's reference algorithm does: walk the events in version order; ``introduced`` at or
below the version turns "affected" on, ``fixed`` at or below turns it off, ``last_affected``
strictly below turns it off; and when the range has ``limit`` events the version must be below
one of them. ``GIT`` ranges need commits, not versions, and are skipped.

Advisories that describe one vulnerability under several ids (PYSEC and GHSA, both aliasing
one CVE) are merged into one :class:`~roost.scan.findings.Finding` so it counts once; the
merged finding takes the worst severity and the smallest upgrade that none of them affects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from roost.scan.findings import Finding
from roost.scan.osv import Affected, Range, Record, base_ecosystem, normalize_name
from roost.scan.severity import best_score, rank
from roost.scan.versions import Comparable, parse_version, same_version

_ORDER = {"introduced": 0, "fixed": 1, "last_affected": 2, "limit": 3}


@dataclass(frozen=True, slots=True)
class Match:
    """One record that affects one installed version (before alias merging)."""

    record: Record
    entries: tuple[Affected, ...]
    """The record's ``affected`` entries for this package."""
    name: str
    package: str
    version: str
    ecosystem: str
    unparseable: bool


def entries_for(record: Record, ecosystem: str, package: str) -> list[Affected]:
    """The record's ``affected`` entries about ``package`` (normalized) in ``ecosystem``."""
    wanted = base_ecosystem(ecosystem)
    return [
        entry
        for entry in record.affected
        if entry.package is not None
        and base_ecosystem(entry.package.ecosystem) == wanted
        and normalize_name(entry.package.ecosystem, entry.package.name) == package
    ]


def _key(text: str, *, ecosystem: str, range_type: str) -> Comparable | None:
    return parse_version(text, ecosystem=ecosystem, range_type=range_type)


def range_affects(rng: Range, version: str, *, ecosystem: str) -> bool | None:
    """Whether ``version`` is inside ``rng``; None when the version (or the range type)
    cannot be compared."""
    if rng.type == "GIT":
        return None
    installed = _key(version, ecosystem=ecosystem, range_type=rng.type)
    if installed is None:
        return None
    ordered, limits = _events(rng, ecosystem=ecosystem)
    affected = False
    for key, _, kind in ordered:
        if kind == "introduced":
            if key is None or installed >= key:
                affected = True
        elif kind == "fixed":
            if installed >= key:
                affected = False
        elif kind == "last_affected" and installed > key:
            affected = False
    if affected and limits:
        affected = any(installed < limit for limit in limits)
    return affected


def _events(rng: Range, *, ecosystem: str) -> tuple[list[tuple[Any, int, str]], list[Comparable]]:
    """The range's events in evaluation order (``introduced: "0"`` first, then by version;
    on a tie introduced before fixed / last_affected), and its limits."""
    zero: list[tuple[Any, int, str]] = []
    events: list[tuple[Any, int, str]] = []
    limits: list[Comparable] = []
    for event in rng.events:
        kind, text = event.kind, event.version
        if kind == "introduced" and text == "0":
            zero.append((None, 0, kind))  # before everything
            continue
        key = _key(text, ecosystem=ecosystem, range_type=rng.type)
        if key is None:
            continue  # an event we cannot place is ignored rather than guessed
        if kind == "limit":
            limits.append(key)
        else:
            events.append((key, _ORDER[kind], kind))
    return zero + sorted(events, key=_SortKey), limits


class _SortKey:
    """Sort events by version, ties by event order (keys of one range compare with each
    other only)."""

    __slots__ = ("event",)

    def __init__(self, event: tuple[Any, int, str]) -> None:
        self.event = event

    def __lt__(self, other: _SortKey) -> bool:
        a, b = self.event, other.event
        if a[0] < b[0]:
            return True
        if b[0] < a[0]:
            return False
        return bool(a[1] < b[1])


def entry_affects(entry: Affected, version: str, *, ecosystem: str) -> tuple[bool, bool]:
    """``(affected, unparseable)`` for one ``affected`` entry."""
    if any(same_version(version, listed, ecosystem=ecosystem) for listed in entry.versions):
        return True, False
    unparseable = False
    for rng in entry.ranges:
        inside = range_affects(rng, version, ecosystem=ecosystem)
        if inside is None:
            unparseable = unparseable or rng.type != "GIT"
        elif inside:
            return True, False
    return False, unparseable


def match_record(
    record: Record, *, name: str, version: str, ecosystem: str = "PyPI"
) -> tuple[Match | None, bool]:
    """The match of ``record`` against an installed ``name==version`` (None: not affected),
    and whether the version could not be compared with some range (unparseable)."""
    if record.withdrawn is not None:
        return None, False
    return ranges_match(record, name=name, version=version, ecosystem=ecosystem)


def ranges_match(
    record: Record, *, name: str, version: str, ecosystem: str = "PyPI"
) -> tuple[Match | None, bool]:
    """Like :func:`match_record`, withdrawn or not: whether the record's ranges include the
    version (what a withdrawn record *would* have said, worth a warning only then)."""
    package = normalize_name(ecosystem, name)
    entries = entries_for(record, ecosystem, package)
    unparseable = False
    for entry in entries:
        hit, bad = entry_affects(entry, version, ecosystem=ecosystem)
        unparseable = unparseable or bad
        if hit:
            return Match(
                record, tuple(entries), name, package, version, ecosystem, unparseable
            ), unparseable
    return None, unparseable


def _fixes(matches: Sequence[Match]) -> tuple[list[str], str | None]:
    fixes: list[str] = []
    last: str | None = None
    for match in matches:
        for entry in match.entries:
            for rng in entry.ranges:
                for event in rng.events:
                    if event.fixed and event.fixed not in fixes:
                        fixes.append(event.fixed)
                    if event.last_affected:
                        last = event.last_affected
    return fixes, last


def package_upgrade(matches: Sequence[Match]) -> str | None:
    """The one version that clears every advisory in ``matches`` (all about one installed
    package), or None when no fixed version does."""
    return smallest_upgrade(matches)[0] if matches else None


def smallest_upgrade(matches: Sequence[Match]) -> tuple[str | None, list[str], str | None]:
    """``(upgrade, every fixed version, last_affected)``: the lowest fixed version above
    the installed one that none of ``matches``' records affects (a later range can
    reintroduce a bug, so the first fix is not always a way out)."""
    fixes, last = _fixes(matches)
    first = matches[0]
    installed = parse_version(first.version, ecosystem=first.ecosystem)
    candidates = []
    for text in fixes:
        key = parse_version(text, ecosystem=first.ecosystem)
        if key is None or (installed is not None and not key > installed):
            continue
        candidates.append((key, text))
    candidates.sort(key=lambda c: _SortKey((c[0], 0, "")))
    for _, text in candidates:
        if not any(
            entry_affects(entry, text, ecosystem=first.ecosystem)[0]
            for match in matches
            for entry in match.entries
        ):
            return text, fixes, last
    return None, fixes, last


_ID_PREFERENCE = ("GHSA-", "PYSEC-", "OSV-")


def _primary(ids: Iterable[str], record_ids: set[str]) -> str:
    ordered = sorted(ids)
    for prefix in _ID_PREFERENCE:
        for text in ordered:
            if text.startswith(prefix) and text in record_ids:
                return text
    return next((t for t in ordered if t in record_ids), ordered[0])


def merge(matches: Sequence[Match]) -> list[Finding]:
    """One finding per vulnerability per installed package: records linked by ids or
    aliases (transitively) are one vulnerability."""
    by_package: dict[tuple[str, str], list[Match]] = {}
    for match in matches:
        by_package.setdefault((match.package, match.version), []).append(match)
    findings = []
    for group in by_package.values():
        findings += [_finding(cluster) for cluster in _clusters(group)]
    findings.sort(key=lambda f: (-rank(f.severity.rating), f.package, f.id))
    return findings


def _clusters(group: list[Match]) -> list[list[Match]]:
    """Union-find over ids and aliases: records that name each other are one cluster."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for match in group:
        root = find(match.record.id)
        for alias in (*match.record.aliases, *match.record.upstream):
            other = find(alias)
            if other != root:
                parent[other] = root
    clusters: dict[str, list[Match]] = {}
    for match in group:
        clusters.setdefault(find(match.record.id), []).append(match)
    return list(clusters.values())


def severity_inputs(
    record: Record, entries: Sequence[Affected] | None = None
) -> tuple[list[str], list[str]]:
    """The CVSS vectors and severity words of ``record`` (its own, and those of ``entries``,
    default every affected entry), for :func:`~roost.scan.severity.best_score`."""
    vectors = [s.score for s in record.severity if s.type.startswith("CVSS")]
    for entry in record.affected if entries is None else entries:
        vectors += [s.score for s in entry.severity if s.type.startswith("CVSS")]
    specific = record.database_specific or {}
    words = [specific["severity"]] if isinstance(specific.get("severity"), str) else []
    return vectors, words


def _finding(cluster: list[Match]) -> Finding:
    record_ids = {m.record.id for m in cluster}
    ids = set(record_ids)
    for match in cluster:
        ids.update(match.record.aliases)
    primary = _primary(ids, record_ids)
    vectors: list[str] = []
    words: list[str] = []
    for match in cluster:
        more_vectors, more_words = severity_inputs(match.record, match.entries)
        vectors += more_vectors
        words += more_words
    upgrade, fixes, last = smallest_upgrade(cluster)
    main = next(m for m in cluster if m.record.id == primary)
    summary = main.record.title or next((m.record.title for m in cluster if m.record.title), "")
    references = []
    for match in cluster:
        references += [r.url for r in match.record.references if r.type == "ADVISORY"]
    return Finding(
        package=main.package,
        name=main.name,
        version=main.version,
        id=primary,
        aliases=tuple(sorted(ids - {primary})),
        summary=summary,
        severity=best_score(vectors, words),
        ecosystem=main.ecosystem,
        fixed=upgrade,
        fixes=tuple(fixes),
        last_affected=last if upgrade is None else None,
        unparseable=any(m.unparseable for m in cluster),
        references=tuple(dict.fromkeys(references))[:5],
    )
