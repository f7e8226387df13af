"""``auth:`` — who may call the API besides roost's own tokens: an OIDC issuer whose bearer JWTs
roost accepts, and which roles its subjects and groups get.

    auth:
      oidc:
        issuer: https://login.example.com/
        audience: roost
        jwks_url: https://login.example.com/.well-known/jwks.json
        roles:
          - group: sre
            role: deployer
            environment: staging-*

A token is accepted only when its signature verifies against a key of ``jwks_url``, its ``iss``
is ``issuer``, its ``aud`` holds ``audience`` and it has not expired. Role bindings made with
``roost role grant`` apply to OIDC subjects and ``group:NAME`` as well.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import issue_error
from roost.spec.fields import describe

PATTERN_RE = r"^[a-z0-9*?\[\]!_-]{1,100}$"
CLAIM_RE = r"^[A-Za-z_][A-Za-z0-9_.:/-]{0,99}$"
SUBJECT_RE = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,150}$"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _issuer_url(value: Any) -> Any:
    """https, or http on the loopback interface only (a test issuer): keys fetched over plain
    HTTP from elsewhere could be swapped by anyone on the path."""
    if not isinstance(value, str):
        raise issue_error(f"expected a URL, got {describe(value)}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise issue_error(f"{describe(value)} is not a valid URL") from None
    if not parts.hostname:
        raise issue_error(f"{describe(value)} has no host")
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return value
    raise issue_error(
        f"{describe(value)} must be an https URL (http only on 127.0.0.1)",
        hint="an issuer's keys decide who may deploy: fetch them over TLS",
    )


IssuerUrl = Annotated[
    str,
    BeforeValidator(_issuer_url),
    WithJsonSchema({"type": "string", "format": "uri", "pattern": "^https?://"}),
]
Pattern = Annotated[
    str,
    Field(pattern=PATTERN_RE, description="An environment or service pattern (`*`: every one)."),
]
Claim = Annotated[str, Field(pattern=CLAIM_RE)]
Algorithm = Literal["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class OidcRole(SpecModel):
    """A role for the token's subject or for members of a group (exactly one of the two)."""

    subject: Annotated[str, Field(pattern=SUBJECT_RE)] | None = Field(
        default=None, description="The subject claim's value this role is for."
    )
    group: Annotated[str, Field(pattern=SUBJECT_RE)] | None = Field(
        default=None, description="A value of the groups claim this role is for."
    )
    role: Literal["viewer", "deployer", "approver", "admin"] = Field(
        description="viewer, deployer, approver or admin."
    )
    environment: Pattern = Field(default="*", description="Environments it applies to.")
    service: Pattern = Field(default="*", description="Services it applies to.")

    @model_validator(mode="before")
    @classmethod
    def _one_holder(cls, data: Any) -> Any:
        if isinstance(data, dict) and (data.get("subject") is None) == (data.get("group") is None):
            raise issue_error(
                "a role is for exactly one of subject or group",
                hint="e.g. `group: sre` or `subject: alice@example.com`",
            )
        return data


class Oidc(SpecModel):
    """An OpenID Connect issuer whose bearer JWTs the API accepts."""

    issuer: IssuerUrl = Field(description="The `iss` every accepted token carries, exactly.")
    audience: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="The `aud` an accepted token must hold (roost's client id at the issuer)."
    )
    jwks_url: IssuerUrl = Field(description="Where the issuer publishes its signing keys.")
    subject_claim: Claim = Field(
        default="sub", description="The claim that names the caller (the audit log's actor)."
    )
    groups_claim: Claim = Field(
        default="groups", description="The claim that lists the caller's groups."
    )
    algorithms: list[Algorithm] = Field(
        default_factory=lambda: list[Algorithm](["RS256", "ES256"]),
        min_length=1,
        description="Signature algorithms accepted (never `none`, never HMAC).",
    )
    roles: list[OidcRole] = Field(
        default_factory=list,
        description="Roles for subjects and groups (`roost role grant` adds more).",
    )


class Auth(SpecModel):
    """Who may call the API besides holders of roost's own tokens."""

    oidc: Oidc | None = Field(default=None, description="Accept bearer JWTs from this issuer.")


def subject_problem(subject: str) -> str | None:
    """Why a claim's value cannot be an actor's name (None: it can)."""
    if not re.match(SUBJECT_RE, subject):
        return f"subject {subject!r} is not a name roost can record"
    return None
