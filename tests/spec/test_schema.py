from __future__ import annotations

import json
import re
from typing import Any

import pytest

from roost.spec import project_json_schema
from roost.spec.durations import DURATION_PATTERN


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_schema_is_json_with_dialect_and_title() -> None:
    schema = json.loads(json.dumps(project_json_schema()))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "roost.yaml"
    assert schema["type"] == "object"


def test_schema_lists_the_top_level_properties() -> None:
    schema = project_json_schema()
    assert {"project", "version", "environments", "services", "defaults"} <= set(
        schema["properties"]
    )
    assert set(schema["required"]) == {"project", "version", "environments"}
    assert schema["properties"]["services"]["type"] == "array"
    assert schema["additionalProperties"] is False


def test_every_ref_resolves() -> None:
    schema = project_json_schema()
    for ref in _refs(schema):
        assert ref.startswith("#/$defs/")
        assert ref.removeprefix("#/$defs/") in schema["$defs"], ref


def test_yaml_spellings_are_used() -> None:
    defs = project_json_schema()["$defs"]
    assert "from" in defs["SecretRef"]["properties"]
    assert "schema" in defs["Service"]["properties"]
    assert "db_schema" not in defs["Service"]["properties"]


def test_fields_are_documented() -> None:
    undocumented = [
        f"{name}.{field}"
        for name, definition in project_json_schema()["$defs"].items()
        for field, spec in definition.get("properties", {}).items()
        if "description" not in spec
    ]
    assert not undocumented


@pytest.mark.parametrize("text", ["30s", "5m", "1h30m", "500ms", "1d", "1h30m15s", "45"])
def test_duration_pattern_accepts(text: str) -> None:
    assert re.fullmatch(DURATION_PATTERN, text)


@pytest.mark.parametrize("text", ["5x", "-3s", "", "1.5.3m", "m5", "1m1h"])
def test_duration_pattern_rejects(text: str) -> None:
    assert not re.fullmatch(DURATION_PATTERN, text)
