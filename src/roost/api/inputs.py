"""The value types of request bodies and paths: every name, id and free text a caller sends is
checked against :mod:`roost.spec.names` (the patterns roost.yaml uses) before a route runs, so a
bad one is a 422 naming the field, and nothing is stored.

Counts and sizes are bounded too: a body is at most ``max_body_bytes`` (see
:mod:`roost.api.limiting`), and a mapping at most a few hundred entries, so one request cannot
store a release of many megabytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema, model_validator

from roost.spec import names

MAX_ENV_VARS = 500
"""Extra environment variables of one release: far more than any service needs."""
MAX_ENV_VALUE = 32 * 1024
MAX_WEIGHTS = 100
"""Revisions in one weights update (a service runs a handful)."""
MAX_TEXT = 2000


def _checked(problem: Callable[[str], str | None], hint: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        found = problem(value)
        if found is not None:
            raise ValueError(f"{found}; {hint}")
        return value

    return check


def _text(multiline: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        found = names.text_problem(value, multiline=multiline)
        if found is not None:
            raise ValueError(found)
        return value

    return check


_NAME_SCHEMA = WithJsonSchema({"type": "string", "pattern": names.NAME_PATTERN, "maxLength": 63})
_RELEASE_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": names.RELEASE_PATTERN, "maxLength": 80}
)


def _name(what: str) -> AfterValidator:
    """A service or environment name: the rule roost.yaml's names follow."""
    return AfterValidator(_checked(lambda v: names.name_problem(v, what=what), names.NAME_RULE))


def _release(what: str) -> AfterValidator:
    """A release id or a revision name (revisions are named after their release)."""
    return AfterValidator(
        _checked(lambda v: names.release_problem(v, what=what), names.RELEASE_RULE)
    )


ServiceName = Annotated[str, _name("service name"), _NAME_SCHEMA]
EnvironmentName = Annotated[str, _name("environment name"), _NAME_SCHEMA]
ReleaseId = Annotated[str, _release("release id"), _RELEASE_SCHEMA]
RevisionName = Annotated[str, _release("revision name"), _RELEASE_SCHEMA]
EnvName = Annotated[
    str,
    AfterValidator(_checked(names.env_name_problem, names.ENV_NAME_RULE)),
    WithJsonSchema(
        {"type": "string", "pattern": names.ENV_NAME_PATTERN, "maxLength": names.ENV_NAME_MAX}
    ),
]
EnvValue = Annotated[str, Field(max_length=MAX_ENV_VALUE), AfterValidator(_text(multiline=True))]
EnvVars = Annotated[
    dict[EnvName, EnvValue],
    Field(max_length=MAX_ENV_VARS, description="Extra environment variables (NAME: value)."),
]
Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_text(multiline=False))]
"""A reason, a note: one line of printable text."""


class RequestBody(BaseModel):
    """A request body. Who asks is never one of its fields: the subject of the request's
    credential is (see :mod:`roost.api.auth`), so a body that names an ``actor`` is refused
    rather than half-believed."""

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: Any) -> Any:
        if isinstance(data, dict) and "actor" in data:
            raise ValueError(
                "actor is not accepted: who acts is the subject of the request's credential "
                "(an admin may impersonate with the X-Roost-As header, `--as` in the CLI)"
            )
        return data


def _path(pattern: str, description: str) -> Any:
    return Path(pattern=pattern, description=description)


ServicePath = Annotated[str, _path(names.NAME_PATTERN, "A service of roost.yaml.")]
RevisionPath = Annotated[str, _path(names.RELEASE_PATTERN, "A revision (its release id).")]
ReleasePath = Annotated[
    str, _path(names.RELEASE_PATTERN, "A release id, or a unique leading part of one.")
]
IdPath = Annotated[str, _path(names.ID_PATTERN, "An id, or a unique leading part of one.")]

MAX_SECRET_BYTES = 64 * 1024
SecretEnv = Annotated[
    dict[EnvName, Annotated[str, Field(max_length=MAX_SECRET_BYTES)]],
    Field(
        max_length=MAX_ENV_VARS,
        description="Values of the service's env: secrets, read by the CLI where the deploy is "
        "issued; sealed on arrival, never logged or answered back.",
    ),
]
