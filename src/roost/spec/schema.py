"""The JSON Schema of roost.yaml, for editor completion and validation.

Point the YAML language server at it with a first line like
``# yaml-language-server: $schema=./roost.schema.json``.
"""

from __future__ import annotations

from typing import Any

from roost.spec.project import Project

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def project_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a roost.yaml file, keys as written in YAML."""
    schema = Project.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": SCHEMA_DIALECT, **schema, "title": "roost.yaml"}
