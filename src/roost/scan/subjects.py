"""What ``roost sbom`` and ``roost scan`` are pointed at, turned into an inventory.

A *path* is a venv, a site-packages, a project or artifact folder (see
:func:`roost.scan.inventories.collect`), or a CycloneDX JSON file. Anything else is an
*artifact reference* in the project's OCI layout (a tag like ``web:3f2a9c1``, a digest or a
unique digest prefix): its materialized directory is used when the release has been run (its
venv holds what is really installed), else the artifact is unpacked into a temporary folder and
its vendored distributions and wheels are read.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from roost.artifacts import layout_of, release_dir, unpack
from roost.scan.inventories import Inventory, collect
from roost.scan.sbom import parse_sbom

COMPLETE = "complete.json"


@dataclass(frozen=True)
class Subject:
    inventory: Inventory
    digest: str | None = None
    kind: str = "path"
    """``path``, ``sbom`` or ``artifact``."""


def load_subject(target: str, *, root: Path) -> Subject:
    """The inventory of ``target`` (raises ``NotAnSbom`` / ``ArtifactError`` for bad input)."""
    path = Path(target)
    if path.is_file():
        data = _json(path)
        return Subject(parse_sbom(data, name=path.name), kind="sbom")
    if path.is_dir():
        return Subject(collect(path, name=path.resolve().name))
    return artifact_subject(target, root=root)


def artifact_subject(reference: str, *, root: Path) -> Subject:
    layout = layout_of(root)
    descriptor = layout.resolve(reference)
    digest = descriptor.digest
    tags = layout.tags_of(digest)
    name = tags[0] if tags else digest[:19]
    materialized = release_dir(root, digest)
    if (materialized / COMPLETE).is_file():
        return Subject(collect(materialized / "app", name=name), digest, "artifact")
    with tempfile.TemporaryDirectory(prefix="roost-scan-") as temp:
        unpack(layout, digest, Path(temp))
        inventory = collect(Path(temp), name=name)
    for component in list(inventory.components.values()):
        if component.location and component.location.startswith(temp):
            # Paths into a deleted temp folder mean nothing later; keep them artifact-relative.
            inventory.components[component.key] = replace(
                component, location=component.location[len(temp) + 1 :]
            )
    return Subject(inventory, digest, "artifact")


def _json(path: Path) -> object:
    from roost.scan.sbom import NotAnSbom

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise NotAnSbom(f"cannot read {path}: {exc}") from None
    except ValueError as exc:
        raise NotAnSbom(f"{path} is not a CycloneDX SBOM: not JSON ({exc})") from None
