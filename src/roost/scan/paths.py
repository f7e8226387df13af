"""Why a vulnerable package is there, and what to change to get rid of it.

Every dependency path from a top-level requirement down to the package is listed (cycles are
cut; past :data:`MAX_PATHS` the rest is counted, not listed). The advice names the smallest
change that removes the finding:

- a top-level requirement: upgrade it to the fixed version;
- a transitive one whose dependents' declared requirements all *allow* the fixed version
  (``urllib3>=1.21.1,<3`` admits 1.26.18): pin it (``urllib3>=1.26.18``). The advice says that
  the metadata allows it, naming the dependents, and no more: a requirement that admits a
  version is not a test that the dependent works with it (Flask 1.1.2 declares
  ``Werkzeug>=0.15`` and does not run on Werkzeug 2.3);
- one that some dependent's requirement *excludes* (``botocore`` wants ``urllib3<1.27`` but the
  fix is 2.0.7): upgrade the top-level requirement that pulls that dependent in, since only a
  newer release of it can allow the fix. Which release does cannot be known offline, so the
  advice names the requirement and the constraint that blocks.
"""

from __future__ import annotations

from collections import deque

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from roost.scan.findings import Finding
from roost.scan.inventories import Inventory

MAX_PATHS = 50
MAX_COUNTED = 1000


def dependency_paths(
    inventory: Inventory,
    key: str,
    *,
    limit: int = MAX_PATHS,
    parents: dict[str, set[str]] | None = None,
) -> tuple[list[tuple[str, ...]], int]:
    """Each path (as component keys) from a root to ``key``, shortest first, and how many more
    were seen beyond ``limit`` (counting stops at :data:`MAX_COUNTED`: a dense graph has
    exponentially many paths, and the first ones are the ones worth reading)."""
    parents = parents if parents is not None else inventory.parents()
    roots = set(inventory.roots)
    found: list[tuple[str, ...]] = []
    extra = 0
    # Breadth-first upwards from the package: every path ends there, shorter paths come out
    # first, and the graph above one package is usually far smaller than below the roots.
    queue: deque[tuple[str, ...]] = deque([(key,)])
    while queue and extra < MAX_COUNTED:
        path = queue.popleft()
        head = path[0]
        if head in roots:
            if len(found) < limit:
                found.append(path)
            else:
                extra += 1
        for parent in sorted(parents.get(head, ())):
            if parent not in path:
                queue.append((parent, *path))
    if not found and key in inventory.components:
        found.append((key,))
    found.sort(key=lambda p: (len(p), p))
    return found, extra


def _allows(specifier: str, version: str) -> bool | None:
    try:
        return SpecifierSet(specifier).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return None


def advise(inventory: Inventory, finding: Finding, paths: list[tuple[str, ...]]) -> str:
    """The one-line upgrade advice for ``finding`` found along ``paths``."""
    name = finding.name
    if finding.fixed is None:
        if finding.last_affected:
            return f"no fixed release yet (every {name} up to {finding.last_affected} is affected)"
        return f"no fixed release of {name} is known"
    fix = finding.fixed
    if any(len(p) == 1 for p in paths):
        declared = finding.package_key in inventory.declared_roots
        what = "top-level requirement" if declared else "installed, required by nothing"
        return f"upgrade {name} to {fix} ({what})"
    blocked: dict[str, list[str]] = {}
    for path in paths:
        parent = path[-2]
        spec = inventory.children(parent).get(finding.package_key, "")
        if spec and _allows(spec, fix) is False:
            shown = inventory.components[parent].name if parent in inventory.components else parent
            blocked.setdefault(path[0], []).append(f"{shown} requires {name}{spec}")
    if not blocked:
        allowed, _ = requirers(inventory, finding.package_key, fix)
        return (
            f"pin {name}>={fix} (allowed by the declared requirements of {', '.join(allowed)}; "
            "metadata only, not a test that they work with it)"
        )
    tops = ", ".join(
        f"{_name(inventory, top)} ({'; '.join(dict.fromkeys(reasons))})"
        for top, reasons in blocked.items()
    )
    return f"upgrade {tops} to a release that allows {name}>={fix}"


def requirers(
    inventory: Inventory, key: str, version: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The installed packages whose declared requirement on ``key`` admits ``version`` (as
    ``Flask 1.1.2``), and the requirements that exclude it (``botocore requires
    urllib3<1.27``)."""
    allowed, excluded = [], []
    target = _name(inventory, key)
    for parent in sorted(inventory.parents().get(key, ())):
        item = inventory.components.get(parent)
        shown = f"{item.name} {item.version}" if item is not None else parent
        spec = inventory.children(parent).get(key, "")
        if spec and _allows(spec, version) is False:
            excluded.append(f"{_name(inventory, parent)} requires {target}{spec}")
        else:
            allowed.append(shown)
    return tuple(allowed), tuple(excluded)


def _name(inventory: Inventory, key: str) -> str:
    item = inventory.components.get(key)
    return item.name if item is not None else key


def explain(
    inventory: Inventory, finding: Finding, *, parents: dict[str, set[str]] | None = None
) -> Finding:
    """``finding`` with its dependency paths (as installed names) and advice filled in."""
    paths, extra = dependency_paths(inventory, finding.package_key, parents=parents)
    return finding.with_changes(
        paths=tuple(tuple(_name(inventory, k) for k in p) for p in paths),
        paths_truncated=extra,
        advice=advise(inventory, finding, paths),
    )
