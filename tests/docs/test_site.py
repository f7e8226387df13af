"""The user documentation builds with ``mkdocs build --strict``: a broken link, a missing anchor
or a page left out of the site fails the suite, so docs/ cannot rot silently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_docs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    index = (site / "index.html").read_text()
    assert "roost" in index
    # every capability page made it into the site
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.stem == "index":
            continue
        assert (site / page.stem / "index.html").is_file(), page.name


@pytest.mark.timeout(300)
def test_site_loads_nothing_from_a_cdn(tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=280,
    )
    index = (site / "index.html").read_text()
    assert "fonts.googleapis.com" not in index
    assert "fonts.gstatic.com" not in index
