"""Inventories of installed environments and their CycloneDX 1.6 SBOMs."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from tests.scan.conftest import VULNERABLE

from roost.scan.inventories import collect
from roost.scan.sbom import NotAnSbom, parse_sbom, read_sbom, to_cyclonedx, validate_cyclonedx

REPO = Path(__file__).parents[2]


def _dist(site: Path, name: str, version: str, *requires: str, extras: str = "") -> None:
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Provides-Extra: {e}" for e in extras.split()]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (folder / "METADATA").write_text("\n".join(lines) + "\n\n")


def test_markers_and_extras_decide_the_edges(tmp_path: Path) -> None:
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    _dist(site, "app", "1.0", "requests[socks]>=2", 'tomli>=1; python_version < "3.11"')
    _dist(
        site,
        "requests",
        "2.31.0",
        "urllib3<3,>=1.21.1",
        "PySocks!=1.5.7,>=1.5.6; extra == 'socks'",
        "chardet<6,>=3.0.2; extra == 'use-chardet-on-py3'",
        extras="socks use-chardet-on-py3",
    )
    _dist(site, "urllib3", "1.26.4", "PySocks<2.0,>=1.5.6; extra == 'socks'", extras="socks")
    _dist(site, "PySocks", "1.7.1")
    _dist(site, "chardet", "5.2.0")
    _dist(site, "tomli", "2.0.1")
    inventory = collect(tmp_path / "venv")
    assert inventory.edges == {
        "app": {"requests": ">=2"},
        # socks was requested by app, so requests' socks extra holds; chardet's does not
        "requests": {"urllib3": "<3,>=1.21.1", "pysocks": "!=1.5.7,>=1.5.6"},
    }
    # tomli: the marker is read for the venv's own Python (3.11 from its path): no edge
    assert inventory.roots == ["app", "chardet", "tomli"]
    assert not inventory.declared


def test_declared_requirements_are_the_roots(tmp_path: Path) -> None:
    inventory = collect(VULNERABLE)
    assert inventory.declared_roots == ["boto3", "requests"]
    assert inventory.roots == ["boto3", "requests"]
    assert inventory.edges["botocore"]["urllib3"] == "<1.27,>=1.25.4"
    assert "awscrt" not in str(inventory.edges)  # only under the crt extra, not installed


def test_sbom_is_valid_cyclonedx_and_reads_back(tmp_path: Path) -> None:
    inventory = collect(VULNERABLE)
    text = to_cyclonedx(inventory)
    assert validate_cyclonedx(text) is None
    data = json.loads(text)
    assert data["specVersion"] == "1.6"
    purls = {c["purl"] for c in data["components"]}
    assert "pkg:pypi/urllib3@1.26.4" in purls
    assert "pkg:pypi/python-dateutil@2.8.2" in purls
    root = data["metadata"]["component"]["bom-ref"]
    tops = next(d for d in data["dependencies"] if d["ref"] == root)["dependsOn"]
    assert sorted(tops) == ["pkg:pypi/boto3@1.26.0", "pkg:pypi/requests@2.31.0"]
    (tmp_path / "sbom.json").write_text(text)
    again = read_sbom(tmp_path / "sbom.json")
    assert set(again.components) == set(inventory.components)
    assert again.edges.keys() == inventory.edges.keys()
    assert again.roots == ["boto3", "requests"]


def test_the_projects_own_venv() -> None:
    venv = Path(sys.prefix)
    inventory = collect(venv)
    assert len(inventory.components) > 50
    assert {"pydantic", "sqlalchemy", "typer", "packaging"} <= set(inventory.components)
    assert "pydantic-core" in inventory.edges["pydantic"]
    assert validate_cyclonedx(to_cyclonedx(inventory)) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"spdxVersion": "SPDX-2.3"}', 'is not a CycloneDX SBOM (no "bomFormat"'),
        ("not json at all", "is not JSON"),
        ("[1, 2]", "is not a CycloneDX SBOM"),
    ],
)
def test_not_cyclonedx_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "sbom.json"
    path.write_text(content)
    with pytest.raises(NotAnSbom, match=re.escape(message)):
        read_sbom(path)


def test_foreign_sbom_with_npm_components() -> None:
    inventory = parse_sbom(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "components": [
                {"type": "library", "name": "semver", "purl": "pkg:npm/semver@7.5.1"},
                {"type": "library", "name": "nameless"},
            ],
        },
        name="web.cdx.json",
    )
    (component,) = inventory.components.values()
    assert (component.ecosystem, component.name, component.version) == ("npm", "semver", "7.5.1")
    assert inventory.notes == ["component 'nameless' has no purl, skipped"]
