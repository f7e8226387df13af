"""CycloneDX 1.6 JSON: writing an inventory as an SBOM, and reading one back to scan it.

Every component is a ``library`` with a package URL (``pkg:pypi/urllib3@1.26.5``) as its
``bom-ref``; the scanned environment is ``metadata.component`` and depends on the top-level
requirements, so the ``dependencies`` section alone tells the full graph and where it starts.
Reading accepts any CycloneDX JSON SBOM (other tools' too): components are taken from their
purls, edges from ``dependencies``, roots from what ``metadata.component`` depends on (else the
components nobody depends on).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from roost.scan.inventories import (
    ECOSYSTEM_OF_PURL_TYPE,
    Component,
    Inventory,
    component_key,
)

SPEC_VERSION = "1.6"


class NotAnSbom(ValueError):
    """The file is not a CycloneDX JSON SBOM (one line saying why)."""


def to_cyclonedx(inventory: Inventory, *, version: str | None = None) -> str:
    """The inventory as CycloneDX 1.6 JSON text."""
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.model.component import ComponentType
    from cyclonedx.model.license import LicenseExpression
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    bom = Bom()
    root = CdxComponent(
        name=inventory.name,
        version=version,
        type=ComponentType.APPLICATION,
        bom_ref=f"roost:{inventory.name}",
    )
    bom.metadata.component = root
    by_key: dict[str, CdxComponent] = {}
    for key, item in sorted(inventory.components.items()):
        properties = []
        if item.location:
            properties.append(Property(name="roost:location", value=item.location))
        licenses = []
        if item.license and len(item.license) < 100 and "\n" not in item.license:
            licenses.append(LicenseExpression(item.license))
        cdx = CdxComponent(
            name=item.name,
            version=item.version,
            type=ComponentType.LIBRARY,
            purl=PackageURL.from_string(item.purl),
            bom_ref=item.purl,
            description=item.summary,
            properties=properties,
        )
        by_key[key] = cdx
        bom.components.add(cdx)
    bom.register_dependency(root, [by_key[k] for k in inventory.roots if k in by_key])
    for key, cdx in by_key.items():
        bom.register_dependency(cdx, [by_key[c] for c in sorted(inventory.children(key))])
    with warnings.catch_warnings():
        # The library warns about things a generated BOM cannot fix (e.g. licenses it would
        # rather see as ids); a warning is not worth failing an SBOM for.
        warnings.simplefilter("ignore")
        text: str = JsonV1Dot6(bom).output_as_string(indent=2)
    return text


def validate_cyclonedx(text: str) -> str | None:
    """The first schema error of a CycloneDX 1.6 JSON document, None if it is valid."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    return None if error is None else str(error)


def read_sbom(path: Path) -> Inventory:
    """The inventory a CycloneDX JSON SBOM describes (:class:`NotAnSbom` otherwise)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise NotAnSbom(f"cannot read {path}: {exc}") from None
    except ValueError as exc:
        raise NotAnSbom(f"{path} is not JSON ({exc})") from None
    return parse_sbom(data, name=path.name)


def parse_sbom(data: Any, *, name: str) -> Inventory:
    from packageurl import PackageURL

    if not isinstance(data, dict) or data.get("bomFormat") != "CycloneDX":
        raise NotAnSbom(f'{name} is not a CycloneDX SBOM (no "bomFormat": "CycloneDX")')
    if not isinstance(data.get("components", []), list):
        raise NotAnSbom(f"{name}: components is not a list")
    metadata = data.get("metadata") or {}
    subject = metadata.get("component") or {}
    inventory = Inventory(str(subject.get("name") or name))
    refs: dict[str, str] = {}
    for item in _walk(data.get("components") or []):
        purl_text = item.get("purl")
        if not isinstance(purl_text, str):
            inventory.notes.append(f"component {item.get('name')!r} has no purl, skipped")
            continue
        try:
            purl = PackageURL.from_string(purl_text)
        except ValueError:
            inventory.notes.append(f"component {item.get('name')!r}: bad purl {purl_text!r}")
            continue
        ecosystem = ECOSYSTEM_OF_PURL_TYPE.get(purl.type, purl.type)
        package = f"{purl.namespace}/{purl.name}" if purl.namespace else purl.name
        version = purl.version or item.get("version")
        if not version:
            inventory.notes.append(f"component {purl_text} has no version, skipped")
            continue
        component = Component(
            name=str(item.get("name") or package) if ecosystem == "PyPI" else package,
            version=str(version),
            ecosystem=ecosystem,
        )
        inventory.components.setdefault(component.key, component)
        ref = item.get("bom-ref")
        refs[str(ref if ref is not None else purl_text)] = component.key
        refs.setdefault(purl_text, component.key)
    subject_ref = subject.get("bom-ref")
    roots: list[str] = []
    for dep in data.get("dependencies") or []:
        if not isinstance(dep, dict):
            continue
        children = [refs[c] for c in dep.get("dependsOn") or [] if c in refs]
        if subject_ref is not None and dep.get("ref") == subject_ref:
            roots = children
            continue
        parent = refs.get(str(dep.get("ref")))
        if parent is not None and children:
            inventory.edges.setdefault(parent, {}).update({c: "" for c in children})
    incoming = {c for children in inventory.edges.values() for c in children}
    orphans = [k for k in sorted(inventory.components) if k not in incoming]
    inventory.declared = bool(roots)
    inventory.declared_roots = list(roots)
    inventory.roots = list(dict.fromkeys(roots + orphans))
    return inventory


def _walk(components: list[Any]) -> list[dict[str, Any]]:
    found = []
    for item in components:
        if isinstance(item, dict):
            found.append(item)
            found += _walk(item.get("components") or [])
    return found


__all__ = [
    "SPEC_VERSION",
    "NotAnSbom",
    "component_key",
    "parse_sbom",
    "read_sbom",
    "to_cyclonedx",
    "validate_cyclonedx",
]
