"""One event catalog: every type under dev.roost., absolute sources, and alerts stored under
their first names (roost.slo.alert.*) still read as the alerts they were."""

from __future__ import annotations

from pathlib import Path

from roost._util import event_catalog as events
from roost.control.slos.watching import FIRING, firing_from_events
from roost.control.workspace import open_workspace


def test_every_type_has_the_one_prefix_and_every_source_is_absolute() -> None:
    names = {k: v for k, v in vars(events).items() if k.isupper() and isinstance(v, str)}
    types = {k: v for k, v in names.items() if not k.startswith(("SOURCE_", "_"))}
    assert types
    assert all(v.startswith("dev.roost.") for v in types.values()), types
    sources = [v for k, v in names.items() if k.startswith("SOURCE_")]
    assert sources
    assert all(v.startswith("/roost/") for v in sources), sources
    assert events.with_legacy(events.SLO_ALERT) == ("dev.roost.slo.alert.", "roost.slo.alert.")
    assert events.with_legacy(events.SCAN_OVERRIDDEN) == (events.SCAN_OVERRIDDEN,)
    assert events.current_name("roost.slo.alert.firing") == events.SLO_ALERT_FIRING
    assert events.current_name("roost.yaml.changed") == "roost.yaml.changed"  # never renamed


def test_an_alert_stored_under_its_old_name_is_still_firing(tmp_path: Path) -> None:
    (tmp_path / "roost.yaml").write_text("project: p\nversion: 1\nenvironments:\n  dev: {}\n")
    with open_workspace(tmp_path) as ws:
        data = {"service": "web", "slo": "availability", "tier": "page-fast"}
        ws.store.events.append("roost.slo.alert.firing", source="roost/slo", data=data)
        (key,) = firing_from_events(ws)
        assert key == ("web", "availability", "page-fast")
        ws.store.events.append(events.SLO_ALERT_RESOLVED, source=events.SOURCE_SLOS, data=data)
        assert firing_from_events(ws) == {}
    assert FIRING == "dev.roost.slo.alert.firing"


def test_no_event_type_is_spelled_outside_the_catalog() -> None:
    """A full event type (``dev.roost.<area>.<what>``) written as a literal anywhere in src/
    would be a second spelling readers cannot find; it must come from the catalog."""
    import ast
    import re

    full_type = re.compile(r"^dev\.roost\.[a-z_]+\.[a-z_.]*[a-z_]$")
    src = Path(events.__file__).resolve().parents[1]
    catalog = Path(events.__file__).resolve()
    spelled = []
    for path in sorted(src.rglob("*.py")):
        if path == catalog:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            literal = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if literal and full_type.match(node.value):
                spelled.append(f"{path.relative_to(src)}:{node.lineno}: {node.value}")
    assert spelled == []
