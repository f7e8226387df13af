"""A service: how to run one program and how to roll out new releases of it."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, WithJsonSchema, field_validator, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import Issue, issue_error, issues_error
from roost.spec.analysis import Analysis
from roost.spec.building import Build
from roost.spec.fields import (
    Command,
    Cpu,
    EnvVarName,
    EnvVars,
    Memory,
    Name,
    PortOrAuto,
    describe,
    port_or_auto,
)
from roost.spec.names import NAME_PATTERN
from roost.spec.probes import Probes, Warmup
from roost.spec.rollouts import BlueGreenRollout, Rollout
from roost.spec.slos import Slo
from roost.spec.versions import SchemaCompat

REFERENCE_PATTERN = r"^(env|file|vault|roost):.+$"
_REFERENCE = re.compile(REFERENCE_PATTERN)


SECRET_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,199}$"  # noqa: S105 - a name rule
_SECRET_NAME = re.compile(SECRET_NAME_PATTERN)
SECRET_NAME_RULE = "a letter or _, then letters, digits, _ . or - (at most 200)"  # noqa: S105


def parse_stored_reference(reference: str) -> tuple[str, int | None]:
    """``roost:NAME[@VERSION]`` → (NAME, VERSION or None for the latest); ValueError if bad."""
    name, at, version = reference.removeprefix("roost:").partition("@")
    if not _SECRET_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a secret name: {SECRET_NAME_RULE}")
    if not at:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise ValueError(f"{version!r} is not a secret version: a number from 1")
    return name, int(version)


def secret_source_problem(reference: str) -> tuple[str, str] | None:
    """(message, hint) when a secret source is well-formed but not allowed, else None.

    ``file:`` paths are confined to the project folder: an absolute path or one that climbs
    out with ``..`` would let roost.yaml read any file the control plane can read."""
    kind, _, where = reference.partition(":")
    if kind == "file":
        path = PurePosixPath(where)
        if path.is_absolute() or where.startswith("~"):
            return (
                f"file:{where} is outside the project: a secret file's path is relative to it",
                "move the file into the project (and out of version control), or use "
                "`roost secret set` and roost:NAME",
            )
        if ".." in path.parts:
            return (
                f"file:{where} climbs out of the project with '..'",
                "name a file inside the project, or use `roost secret set` and roost:NAME",
            )
    if kind == "roost":
        try:
            parse_stored_reference(reference)
        except ValueError as exc:
            return str(exc), "write roost:NAME or roost:NAME@3"
    return None


class ConfigFile(SpecModel):
    """A file written into the revision's config folder (``$ROOST_CONFIG_DIR``); part of the
    release's config snapshot, so a rollback restores it together with the code."""

    path: str = Field(description="Where to write it, relative to $ROOST_CONFIG_DIR.")
    source: str | None = Field(
        default=None, description="Project-relative file to copy (read when the release is cut)."
    )
    content: str | None = Field(default=None, description="Literal file content.")

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        normal = posixpath.normpath(value)
        if not value or value.startswith("/") or normal == ".." or normal.startswith("../"):
            raise issue_error(
                f"{describe(value)} must be a path inside the working directory",
                hint="use a relative path without '..', e.g. config/app.toml",
            )
        return value

    @model_validator(mode="after")
    def _one_origin(self) -> ConfigFile:
        if (self.source is None) == (self.content is None):
            raise issue_error(
                "a config file needs exactly one of source or content",
                at=("content",) if self.content is not None else (),
            )
        return self


class SecretRef(SpecModel):
    """A secret given to the program as an environment variable.

    Only the reference is in the project file; the value is resolved when a release is cut and
    the *version* is pinned in the release, so a rollback gets the secret it was deployed with.
    """

    name: EnvVarName = Field(description="Environment variable the program reads it from.")
    source: str = Field(
        alias="from",
        pattern=REFERENCE_PATTERN,
        description="Where the value lives: roost:NAME[@VERSION] (`roost secret set`), env:VAR "
        "(the environment of the `roost deploy`/`up`/`apply` that cuts the release), "
        "file:path (inside the project) or vault:path#key.",
    )
    version: str | None = Field(
        default=None, description="Pin this version of the secret; null: latest when released."
    )

    @field_validator("source", mode="before")
    @classmethod
    def _known_backend(cls, value: Any) -> Any:
        if isinstance(value, str) and not _REFERENCE.fullmatch(value):
            raise issue_error(
                f"{describe(value)} is not a secret source",
                hint="use roost:NAME[@VERSION], env:VAR, file:path or vault:path#key",
            )
        if isinstance(value, str):
            problem = secret_source_problem(value)
            if problem is not None:
                raise issue_error(problem[0], hint=problem[1])
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _number_is_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value


class Resources(SpecModel):
    """Resource limits (and optional requests), Kubernetes quantity notation."""

    memory: Memory | None = Field(default=None, description="Memory limit, e.g. 512Mi.")
    cpu: Cpu | None = Field(default=None, description='CPU limit in cores (0.5) or "500m".')
    memory_request: Memory | None = Field(
        default=None, description="Memory to reserve; default: the limit."
    )
    cpu_request: Cpu | None = Field(default=None, description="CPU to reserve; default: the limit.")


def _replicas(value: Any) -> int | dict[str, int]:
    def count(item: Any, at: tuple[str, ...] = ()) -> int:
        if isinstance(item, int) and not isinstance(item, bool) and item >= 0:
            return item
        raise issue_error(f"expected a replica count (0 or more), got {describe(item)}", at=at)

    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise issue_error(f"expected an environment name, got {describe(key)}")
        return {key: count(item, (key,)) for key, item in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return count(value)
    raise issue_error(
        f"expected a replica count or a mapping of environment to count, got {describe(value)}",
        hint="e.g. `replicas: 2` or `replicas: {production: 3, '*': 1}`",
    )


Replicas = Annotated[
    int | dict[str, int],
    PlainValidator(_replicas),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {
                    "type": "object",
                    "propertyNames": {"anyOf": [{"pattern": NAME_PATTERN}, {"const": "*"}]},
                    "additionalProperties": {"type": "integer", "minimum": 0},
                },
            ]
        }
    ),
]
"""A replica count, or one per environment (``"*"``: all others; unlisted without ``"*"``: 1)."""


def _listen(value: Any) -> int | Literal["auto"] | dict[str, int | Literal["auto"]]:
    if isinstance(value, dict):
        ports: dict[str, int | Literal["auto"]] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise issue_error(f"expected an environment name, got {describe(key)}")
            ports[key] = port_or_auto(item, at=(key,))
        return ports
    if isinstance(value, int | str):
        return port_or_auto(value)
    raise issue_error(
        f'expected a port, "auto", or a mapping of environment to port, got {describe(value)}',
        hint="e.g. `listen: 8080` or `listen: {dev: 8080, staging: 8081}`",
    )


Listen = Annotated[
    int | Literal["auto"] | dict[str, int | Literal["auto"]],
    PlainValidator(_listen),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"const": "auto", "type": "string"},
                {
                    "type": "object",
                    "propertyNames": {"pattern": NAME_PATTERN},
                    "additionalProperties": {
                        "anyOf": [
                            {"type": "integer", "minimum": 1, "maximum": 65535},
                            {"const": "auto", "type": "string"},
                        ]
                    },
                },
            ]
        }
    ),
]
"""The router port: one (for the service's first environment), or one per environment."""


class WorkloadIdentity(SpecModel):
    """The workload token each replica gets in ``$ROOST_IDENTITY_TOKEN_FILE``."""

    audience: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] = Field(
        description="Who the token is for (its aud claim): the services or outside systems it "
        'is shown to; default ["roost:PROJECT"].',
    )

    @field_validator("audience", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class Service(SpecModel):
    """How to run one program and roll out new releases of it."""

    name: Name = Field(description="Unique in the project; lowercase letters, digits and '-'.")
    description: str | None = Field(default=None, description="What it is, for people.")
    command: Command = Field(
        description="Program and arguments: a list, or a string split like sh. No shell runs; "
        "$PORT and ${NAME} in words are filled in from the service's environment."
    )
    workdir: str | None = Field(
        default=None, description="Directory to run in, relative to the project; default: it."
    )
    port: PortOrAuto = Field(
        default="auto",
        description='Port the program listens on; "auto": roost picks one and sets $PORT.',
    )
    listen: Listen = Field(
        default="auto",
        description="Port roost's router listens on for this service, on the local runtime: "
        'what clients connect to. "auto": a free port, shown by `roost ps`. One port is the '
        "service's first environment's (the others get free ports); a mapping gives each "
        "environment its own, e.g. {dev: 8080, staging: 8081}. Two environments never share one.",
    )
    environments: list[str] | None = Field(
        default=None, description="Environments this service is deployed to; null: all."
    )
    env: EnvVars = Field(
        default_factory=dict, description="Environment variables (values are strings)."
    )
    config_files: list[ConfigFile] = Field(
        default_factory=list, description="Files written for each release into $ROOST_CONFIG_DIR."
    )
    secrets: list[SecretRef] = Field(
        default_factory=list, description="Secret references, resolved and pinned per release."
    )
    replicas: Replicas = Field(
        default=1, description='Replica count, or per environment: {production: 3, "*": 1}.'
    )
    probes: Probes = Field(default_factory=Probes, description="startup, readiness, liveness.")
    warmup: Warmup | None = Field(
        default=None, description="Warm new replicas before they get traffic; null: no warm-up."
    )
    resources: Resources | None = Field(default=None, description="Resource limits.")
    rollout: Rollout | None = Field(
        default=None,
        description="canary or blue_green; null: defaults.rollout, or replace all at once.",
    )
    analysis: Analysis | None = Field(
        default=None, description="How the canary is judged during a rollout."
    )
    slos: list[Slo] = Field(default_factory=list, description="Service level objectives.")
    db_schema: SchemaCompat | None = Field(
        default=None,
        alias="schema",
        description="Database schema versions this release runs against (rollback safety).",
    )
    build: Build | None = Field(
        default=None,
        description="How to build, test and package it from a commit; null: no pipeline.",
    )
    identity: WorkloadIdentity | None = Field(
        default=None,
        description="Its workload token's audience; null: roost:PROJECT (see docs/identity.md).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Service:
        issues: list[Issue] = []
        issues += _duplicates([slo.name for slo in self.slos], "slos", "name", "SLO name")
        issues += _duplicates([s.name for s in self.secrets], "secrets", "name", "secret name")
        issues += _duplicates([f.path for f in self.config_files], "config_files", "path", "path")
        for index, secret in enumerate(self.secrets):
            if secret.name in self.env:
                issues.append(
                    Issue(
                        f'"{secret.name}" is both in env and a secret',
                        at=("secrets", index, "name"),
                        hint="remove one of them",
                    )
                )
        rollout = self.rollout
        if isinstance(rollout, BlueGreenRollout) and rollout.preview_port == self.port:
            issues.append(
                Issue(
                    "preview_port must differ from the service port",
                    at=("rollout", "preview_port"),
                )
            )
        if issues:
            raise issues_error(issues)
        return self

    def replicas_in(self, environment: str) -> int:
        """The replica count for ``environment``."""
        if isinstance(self.replicas, int):
            return self.replicas
        return self.replicas.get(environment, self.replicas.get("*", 1))

    def runs_in(self, environment: str) -> bool:
        """Whether the service is deployed to ``environment``."""
        return self.environments is None or environment in self.environments

    def listen_in(self, environment: str, *, order: Sequence[str]) -> int | None:
        """The port the router listens on for this service in ``environment``; None: a free
        one. ``order`` is the project's environment names in file order: a single port belongs
        to the first of them the service runs in (the others get free ports, so two
        environments never answer on one listener)."""
        if isinstance(self.listen, dict):
            value = self.listen.get(environment, "auto")
        else:
            first = next((name for name in order if self.runs_in(name)), None)
            value = self.listen if environment == first else "auto"
        return value if isinstance(value, int) else None


def _duplicates(values: list[str], field: str, key: str, what: str) -> list[Issue]:
    seen: dict[str, int] = {}
    issues = []
    for index, value in enumerate(values):
        if value in seen:
            issues.append(
                Issue(
                    f"duplicate {what} {describe(value)}",
                    at=(field, index, key),
                    related=(field, seen[value], key),
                )
            )
        else:
            seen[value] = index
    return issues
