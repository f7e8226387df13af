"""Ordering versions the way an advisory's ranges mean them.

PyPI versions follow PEP 440 (``packaging.version``: ``1.0a1 < 1.0rc1 < 1.0 < 1.0.post1``,
``1.0+local`` sorts after ``1.0``); ``SEMVER`` ranges follow Semantic Versioning 2.0
(pre-releases before their release, build metadata ignored). Other ecosystems' ``ECOSYSTEM``
ranges are compared as SemVer when their versions look like it. A version that cannot be
parsed yields ``None``: the caller falls back to the advisory's explicit ``versions`` list and
says the version was unparseable instead of guessing.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from packaging.version import InvalidVersion, Version

from roost.scan.osv import base_ecosystem

_SEMVER = re.compile(
    r"v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)


class Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...
    def __le__(self, other: Any, /) -> bool: ...
    def __gt__(self, other: Any, /) -> bool: ...
    def __ge__(self, other: Any, /) -> bool: ...


def semver_key(text: str) -> tuple[Any, ...] | None:
    """A sort key for a SemVer 2.0 version (``1.2`` is read as ``1.2.0``); None if it is not."""
    match = _SEMVER.fullmatch(text.strip())
    if match is None:
        return None
    numbers = tuple(int(match.group(k) or 0) for k in ("major", "minor", "patch"))
    pre = match.group("pre")
    if pre is None:
        return (*numbers, (1,))
    # Numeric identifiers sort numerically and before alphanumeric ones; a longer list of
    # equal leading identifiers sorts later — both fall out of tuple comparison.
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (*numbers, (0, *ids))


def parse_version(text: str, *, ecosystem: str, range_type: str = "ECOSYSTEM") -> Comparable | None:
    """``text`` as something ordered like ``ecosystem``'s versions, or None if unparseable."""
    if range_type == "SEMVER" or base_ecosystem(ecosystem) != "PyPI":
        return semver_key(text)
    try:
        return Version(text)
    except InvalidVersion:
        return None


def same_version(a: str, b: str, *, ecosystem: str) -> bool:
    """Whether ``a`` and ``b`` name one version (``1.0`` = ``1.0.0`` for PyPI, else text)."""
    if a == b:
        return True
    if base_ecosystem(ecosystem) == "PyPI":
        try:
            return Version(a) == Version(b)
        except InvalidVersion:
            return False
    return False
