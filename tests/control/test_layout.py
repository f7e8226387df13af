"""The shape of roost.control that ARCHITECTURE.md promises: no module over 400 lines (the
import-linter contract in .importlinter keeps the sub-packages' order)."""

from __future__ import annotations

from pathlib import Path

import roost.control

CONTROL = Path(roost.control.__file__).parent


def test_no_control_module_is_over_400_lines() -> None:
    sizes = {
        str(path.relative_to(CONTROL)): len(path.read_text().splitlines())
        for path in CONTROL.rglob("*.py")
    }
    assert len(sizes) > 30  # the sub-packages are there
    assert {name: n for name, n in sizes.items() if n > 400} == {}
