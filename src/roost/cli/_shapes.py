"""The machine-readable shapes of roost's listing and status commands (``-o json|yaml``).

Each command's output is one model here, defined once; ``docs/output.md`` is generated from
these models (``python -m roost.cli._shapes > docs/output.md``) and a test checks that it is
current and that every command's real output validates against its model. A shape only grows:
fields are added, never renamed or removed, so scripts written against it keep working.

Lists are wrapped (``{"kind": "ReleaseList", "items": [...]}``), as kubectl does, so a list can
gain fields of its own later. Shapes that relay a document of the API (``roost status``,
``roost rollout status``, ``roost slo status`` …) name the fields a script can rely on and allow
more (``extra: allowed``): the API adds fields as roost grows.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from roost.cli import _shapes_ops as ops
from roost.cli._shapes_base import OpenShape, Shape

# -- roost ps ----------------------------------------------------------------------------------


class PsRevision(Shape):
    revision: str
    weight: int = Field(description="Percent of the service's traffic.")
    phase: str | None
    ready_replicas: int
    desired_replicas: int
    restarts: int = Field(description="Restarts of all its replicas together.")
    rps: float | None = Field(description="Requests per second, last minute.")
    error_ratio: float | None = Field(description="Share of failed requests (0-1).")
    p99_seconds: float | None = Field(description="99th percentile latency.")


class PsService(Shape):
    environment: str
    service: str
    url: str | None = Field(description="Where its router listens.")
    revisions: list[PsRevision]


class PsAgent(Shape):
    node: str | None
    ready: bool
    renewed_at: str | None


class Ps(Shape):
    kind: Literal["Ps"] = "Ps"
    source: str = Field(description="The API or agent asked.")
    services: list[PsService]
    agents: list[PsAgent]


# -- releases, builds, artifacts ------------------------------------------------------------------


class ReleaseItem(Shape):
    id: str
    service: str
    artifact: str | None
    created_at: str
    created_by: str
    schema_requires: str | None
    schema_migrates_to: int | None
    notes: str


class ReleaseList(Shape):
    kind: Literal["ReleaseList"] = "ReleaseList"
    items: list[ReleaseItem]


class BuildItem(Shape):
    id: str
    service: str
    commit: str
    branch: str | None
    trigger: str
    state: str
    duration_seconds: float | None
    steps: int
    cached_steps: int
    artifact: str | None
    release: str | None


class BuildList(Shape):
    kind: Literal["BuildList"] = "BuildList"
    items: list[BuildItem]


class ArtifactItem(Shape):
    digest: str
    tags: list[str]
    service: str | None
    created: str | None
    size: int = Field(description="Bytes: the manifest and every blob.")


class ArtifactList(Shape):
    kind: Literal["ArtifactList"] = "ArtifactList"
    store: str
    items: list[ArtifactItem]


# -- leases, locks, audit, events --------------------------------------------------------------


class LeaseItem(Shape):
    name: str
    holder: str | None
    fencing_token: int
    transitions: int
    duration_seconds: float
    acquired_at: str | None
    renewed_at: str | None
    expires_at: str | None = Field(description="By the holder's clock.")
    reason: str | None
    version: str


class LeaseList(Shape):
    kind: Literal["LeaseList"] = "LeaseList"
    backend: str
    items: list[LeaseItem]


class LeaseDescription(Shape):
    kind: Literal["Lease"] = "Lease"
    backend: str
    lease: LeaseItem


class LockItem(Shape):
    name: str
    holder: str
    reason: str | None
    acquired_at: str | None
    expires_at: str | None = Field(description="Unless renewed.")


class LockList(Shape):
    kind: Literal["LockList"] = "LockList"
    items: list[LockItem]


class AuditHead(Shape):
    kind: Literal["AuditHead"] = "AuditHead"
    head: str | None = Field(description="The chain's head hash.")
    events: int


class AuditVerification(OpenShape):
    intact: bool
    events: int
    checkpoints: int
    checkpoints_signed_checked: bool


class EventList(Shape):
    kind: Literal["EventList"] = "EventList"
    items: list[dict[str, Any]] = Field(description="CloudEvents 1.0 envelopes, newest first.")


# -- rollouts --------------------------------------------------------------------------------


class RolloutItem(OpenShape):
    id: str
    service: str
    environment: str
    from_release: str | None
    to_release: str
    state: str
    step: int


class RolloutList(Shape):
    kind: Literal["RolloutList"] = "RolloutList"
    items: list[RolloutItem]


class HistoryItem(OpenShape):
    id: str
    environment: str
    kind: str
    from_release: str | None
    to_release: str
    requested_by: str
    state: str
    created_at: str


class History(Shape):
    kind: Literal["RolloutHistory"] = "RolloutHistory"
    service: str
    items: list[HistoryItem]


class RolloutStatus(OpenShape):
    id: str
    service: str
    environment: str
    state: str


# -- status, SLOs, alerts, doctor, vulndb ------------------------------------------------------


class Status(OpenShape):
    project: str
    version: str
    environments: list[str]
    services: list[dict[str, Any]]


class SloStatus(OpenShape):
    at: str
    slos: list[dict[str, Any]]


class SloHistory(Shape):
    kind: Literal["SloHistory"] = "SloHistory"
    items: list[dict[str, Any]] = Field(
        description="Alert transitions as CloudEvents 1.0 envelopes, newest first."
    )


class Alerts(OpenShape):
    at: str
    alerts: list[dict[str, Any]]
    silences: list[dict[str, Any]]


class Doctor(OpenShape):
    healthy: bool
    problems: list[str]
    agents: list[dict[str, Any]]
    leader: dict[str, Any]
    events: list[dict[str, Any]]
    audit: dict[str, Any]


class VulnDbInfo(Shape):
    path: str
    records: int
    withdrawn: int
    packages: int
    ecosystems: dict[str, int]
    imported_at: str | None
    sources: list[str]


SHAPES: dict[str, type[BaseModel]] = {
    "alerts": Alerts,
    "artifacts list": ArtifactList,
    "artifacts quarantined": ops.QuarantineList,
    "audit head": AuditHead,
    "audit verify": AuditVerification,
    "builds": BuildList,
    "doctor": Doctor,
    "events": EventList,
    "events dlq list": ops.DeadLetters,
    "events dlq show": ops.DeadLetterDetail,
    "events trace": ops.EventTrace,
    "events triggers": ops.Triggers,
    "history": History,
    "identity keys": ops.SigningKeyList,
    "lease describe": LeaseDescription,
    "lease list": LeaseList,
    "lock list": LockList,
    "ps": Ps,
    "release list": ReleaseList,
    "rollout list": RolloutList,
    "role list": ops.RoleList,
    "rollout status": RolloutStatus,
    "schedule list": ops.ScheduleList,
    "schedule next": ops.ScheduleNext,
    "schedule runs": ops.ScheduleRunList,
    "secret list": ops.SecretList,
    "secret versions": ops.SecretVersionList,
    "slo history": SloHistory,
    "slo status": SloStatus,
    "status": Status,
    "token list": ops.TokenList,
    "vulndb info": VulnDbInfo,
}
"""Command (as typed after ``roost``) → the shape of its ``-o json|yaml`` output."""

WATCHABLE = ("ps", "rollout status")
"""Commands with ``--watch``."""


def _type_name(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type_name(s, defs) for s in schema["anyOf"])
    if "const" in schema:
        return json_literal(schema["const"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type_name(schema.get('items', {}), defs)}"
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return f"object of {_type_name(extra, defs)}" if isinstance(extra, dict) else "object"
    return {"integer": "int", "number": "float", "string": "str", "boolean": "bool"}.get(
        str(kind), str(kind)
    )


def json_literal(value: Any) -> str:
    import json

    return f"`{json.dumps(value)}`"


def _fields(title: str, schema: dict[str, Any], defs: dict[str, Any], extra: bool) -> list[str]:
    lines = [f"**{title}**" + (" (more fields may appear)" if extra else ""), ""]
    lines += ["| field | type | |", "|---|---|---|"]
    required = set(schema.get("required", []))
    for name, spec in schema.get("properties", {}).items():
        note = spec.get("description", "")
        if name not in required and "default" not in spec:
            note = ("optional. " + note).strip()
        lines.append(f"| `{name}` | {_type_name(spec, defs)} | {note} |")
    return [*lines, ""]


def render_docs() -> str:
    """docs/output.md: every command's shape, from the models."""
    out = [
        "# Machine-readable output",
        "",
        "<!-- Generated by `python -m roost.cli._shapes > docs/output.md`; do not edit. -->",
        "",
        "Every listing and status command takes `-o json` or `-o yaml` (kubectl style) and",
        "prints the shape below; without it, a table for people (long cells fold onto more",
        "lines on a narrow terminal, nothing is cut). `--json`, where a command had it, is",
        "`-o json` (`roost events --json` and `roost slo history --json` keep printing one",
        "CloudEvent per line; `roost token list --json` and `roost role list --json` keep",
        "printing the API's bare list). Secret values and tokens appear in no output.",
        f"{', '.join(f'`roost {c}`' for c in WATCHABLE)} also take `--watch` (`-w`): the table",
        "is redrawn; with `-o json` each change is printed as one line (JSON Lines), with",
        "`-o yaml` as one `---` document.",
        "",
        "Shapes only grow: fields are added, never renamed or removed. Times are ISO 8601.",
        "",
    ]
    for command, model in SHAPES.items():
        schema = model.model_json_schema()
        defs = schema.get("$defs", {})
        extra = model.model_config.get("extra") == "allow"
        out += [f"## `roost {command} -o json`", ""]
        out += _fields(model.__name__, schema, defs, extra)
        for name, sub in defs.items():
            out += _fields(name, sub, defs, sub.get("additionalProperties") is not False)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render_docs(), end="")
