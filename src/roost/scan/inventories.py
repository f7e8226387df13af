"""What is installed: distributions found on disk, their dependency graph, and the top-level
requirements it hangs from.

The graph comes from each distribution's own metadata (``Requires-Dist``), read with
``importlib.metadata`` from a site-packages folder (a venv, a materialized release, a vendored
``site-packages/``) and from the ``*.whl`` files an artifact carries. An edge exists only when
its environment marker holds for the interpreter of that environment: ``requests[socks]``
pulls in ``PySocks`` only if somebody asked for the ``socks`` extra, and a
``; python_version < "3.8"`` backport is not a dependency on 3.11. Requested extras are
followed transitively until nothing changes.

Top-level requirements are what the project declares (``[project].dependencies`` in
``pyproject.toml``, else ``requirements.in``); without a declaration, the distributions nobody
depends on are the roots.
"""

from __future__ import annotations

import email.parser
import importlib.metadata
import re
import tomllib
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import (
    InvalidMarker,
    UndefinedComparison,
    UndefinedEnvironmentName,
    default_environment,
)
from packaging.requirements import InvalidRequirement, Requirement

from roost.scan.osv import normalize_name

_PYTHON_DIR = re.compile(r"python(\d+)\.(\d+)")
DECLARATIONS = ("pyproject.toml", "requirements.in")


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    version: str
    ecosystem: str = "PyPI"
    location: str | None = None
    license: str | None = None
    summary: str | None = None
    requires: tuple[str, ...] = ()
    """Raw ``Requires-Dist`` lines (unevaluated)."""

    @property
    def key(self) -> str:
        return component_key(self.ecosystem, self.name)

    @property
    def purl(self) -> str:
        from packageurl import PackageURL

        kind = _PURL_TYPES_BY_ECOSYSTEM.get(self.ecosystem, self.ecosystem.lower())
        name = normalize_name(self.ecosystem, self.name)
        return str(PackageURL(type=kind, name=name, version=self.version))


_PURL_TYPES_BY_ECOSYSTEM = {
    "PyPI": "pypi",
    "npm": "npm",
    "Go": "golang",
    "Maven": "maven",
    "crates.io": "cargo",
    "RubyGems": "gem",
    "NuGet": "nuget",
    "Packagist": "composer",
}
ECOSYSTEM_OF_PURL_TYPE = {v: k for k, v in _PURL_TYPES_BY_ECOSYSTEM.items()}


def component_key(ecosystem: str, name: str) -> str:
    normalized = normalize_name(ecosystem, name)
    return normalized if ecosystem == "PyPI" else f"{ecosystem}/{normalized}"


@dataclass
class Inventory:
    """The components of one environment and who requires whom."""

    name: str
    components: dict[str, Component] = field(default_factory=dict)
    edges: dict[str, dict[str, str]] = field(default_factory=dict)
    """parent key → {child key: the parent's requirement text for it}."""
    roots: list[str] = field(default_factory=list)
    declared: bool = False
    """Whether the roots start with the project's declared requirements."""
    declared_roots: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def children(self, key: str) -> dict[str, str]:
        return self.edges.get(key, {})

    def parents(self) -> dict[str, set[str]]:
        result: dict[str, set[str]] = {k: set() for k in self.components}
        for parent, children in self.edges.items():
            for child in children:
                result.setdefault(child, set()).add(parent)
        return result


def site_dirs(path: Path) -> list[Path]:
    """The folders under ``path`` that hold installed distributions, most specific first."""
    found: list[Path] = []
    candidates = [path, path / "site-packages"]
    for base in (path, path / ".venv", path / "venv", path.parent / "venv"):
        candidates += sorted(base.glob("lib/python*/site-packages"))
    for candidate in candidates:
        if candidate.is_dir() and candidate not in found and _has_metadata(candidate):
            found.append(candidate)
    return found


def _has_metadata(folder: Path) -> bool:
    return any(folder.glob("*.dist-info")) or any(folder.glob("*.egg-info"))


def _python_of(folder: Path) -> tuple[int, int] | None:
    for part in reversed(folder.parts):
        match = _PYTHON_DIR.fullmatch(part)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


def _component(meta: Any, location: str) -> Component | None:
    # An email.message.Message, from importlib.metadata or from a wheel's METADATA.
    name = meta.get("Name")
    version = meta.get("Version")
    if not name or not version:
        return None
    return Component(
        name=str(name),
        version=str(version),
        location=location,
        license=(str(meta.get("License-Expression") or meta.get("License") or "") or None),
        summary=(str(meta.get("Summary") or "") or None),
        requires=tuple(str(r) for r in (meta.get_all("Requires-Dist") or [])),
    )


def read_installed(folder: Path) -> list[Component]:
    """Every distribution installed in ``folder`` (a site-packages), via importlib.metadata."""
    found = []
    for dist in importlib.metadata.distributions(path=[str(folder)]):
        meta = dist.metadata
        location = getattr(dist, "_path", None)
        component = _component(meta, str(location or folder)) if meta is not None else None
        if component is not None:
            found.append(component)
    return found


def read_wheels(folder: Path) -> tuple[list[Component], list[str]]:
    """The distributions of the ``*.whl`` files in ``folder`` (their ``METADATA``)."""
    found, notes = [], []
    for wheel in sorted(folder.glob("*.whl")):
        try:
            with zipfile.ZipFile(wheel) as zipped:
                name = next(
                    (
                        n
                        for n in zipped.namelist()
                        if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
                    ),
                    None,
                )
                if name is None:
                    notes.append(f"{wheel.name}: no .dist-info/METADATA, skipped")
                    continue
                text = zipped.read(name).decode("utf-8", "replace")
        except (zipfile.BadZipFile, OSError) as exc:
            notes.append(f"{wheel.name}: unreadable wheel ({exc}), skipped")
            continue
        component = _component(email.parser.Parser().parsestr(text), str(wheel))
        if component is not None:
            found.append(component)
    return found, notes


def declared_requirements(folder: Path) -> list[str] | None:
    """The top-level requirements the project in ``folder`` declares, None if it does not."""
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            data = {}
        deps = data.get("project", {}).get("dependencies")
        if isinstance(deps, list):
            return [str(d) for d in deps]
    requirements_in = folder / "requirements.in"
    if requirements_in.is_file():
        lines = requirements_in.read_text(encoding="utf-8", errors="replace").splitlines()
        return [
            line.split("#", 1)[0].strip()
            for line in lines
            if line.split("#", 1)[0].strip() and not line.lstrip().startswith("-")
        ]
    return None


def collect(path: Path, *, name: str | None = None, declared: list[str] | None = None) -> Inventory:
    """The inventory of a venv, a site-packages, or a project/artifact folder at ``path``."""
    inventory = Inventory(name or path.name or str(path))
    python: tuple[int, int] | None = None
    for folder in site_dirs(path):
        python = python or _python_of(folder)
        for component in read_installed(folder):
            inventory.components.setdefault(component.key, component)
    for folder in (path / "wheels", path):
        wheels, notes = read_wheels(folder) if folder.is_dir() else ([], [])
        inventory.notes += notes
        for component in wheels:
            inventory.components.setdefault(component.key, component)
    if declared is None:
        declared = declared_requirements(path)
    link(inventory, declared=declared, python=python)
    return inventory


def marker_environment(python: tuple[int, int] | None) -> dict[str, str]:
    env = {k: str(v) for k, v in default_environment().items()}
    if python is not None and (python[0], python[1]) != tuple(
        int(p) for p in env["python_version"].split(".")[:2]
    ):
        env["python_version"] = f"{python[0]}.{python[1]}"
        env["python_full_version"] = f"{python[0]}.{python[1]}.0"
    return env


def _parse(text: str, where: str, notes: list[str]) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        notes.append(f"{where}: cannot parse requirement {text!r}, ignored")
        return None


def _holds(req: Requirement, env: dict[str, str], extras: Iterable[str]) -> bool:
    if req.marker is None:
        return True
    for extra in ("", *extras):
        try:
            if req.marker.evaluate({**env, "extra": extra}):
                return True
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            return False
    return False


def link(
    inventory: Inventory, *, declared: list[str] | None, python: tuple[int, int] | None = None
) -> None:
    """Fill ``inventory.edges`` and ``roots`` from the components' ``Requires-Dist``."""
    env = marker_environment(python)
    components = inventory.components
    extras: dict[str, set[str]] = {key: set() for key in components}
    roots: list[str] = []
    for text in declared or []:
        req = _parse(text, "declared requirements", inventory.notes)
        if req is None or not _holds(req, env, ()):
            continue
        key = component_key("PyPI", req.name)
        if key in components:
            roots.append(key)
            extras[key] |= set(req.extras)
        else:
            inventory.notes.append(f"declared requirement {req.name} is not installed")
    parsed = {
        key: [r for t in c.requires if (r := _parse(t, c.name, inventory.notes)) is not None]
        for key, c in components.items()
    }
    edges: dict[str, dict[str, str]] = {key: {} for key in components}
    changed = True
    while changed:
        changed = False
        for key, requirements in parsed.items():
            for req in requirements:
                target = component_key("PyPI", req.name)
                if target not in components or not _holds(req, env, extras[key]):
                    continue
                if target not in edges[key]:
                    edges[key][target] = str(req.specifier)
                    changed = True
                if not set(req.extras) <= extras[target]:
                    extras[target] |= set(req.extras)
                    changed = True
    inventory.edges = {k: v for k, v in edges.items() if v}
    incoming = {child for children in inventory.edges.values() for child in children}
    orphans = [key for key in sorted(components) if key not in incoming]
    if roots:
        # Installed but required by nobody and not declared (pip in a venv, a leftover): still
        # scanned, shown as its own root.
        inventory.declared = True
        inventory.declared_roots = list(dict.fromkeys(roots))
        inventory.roots = list(dict.fromkeys(roots + orphans))
    else:
        inventory.roots = orphans
