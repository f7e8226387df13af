"""The parameters of every action a schedule (or a trigger) may run, as roost.yaml models.

They live in the base layer, next to the rest of roost.yaml, so that ``roost validate`` refuses a
schedule whose ``params`` do not fit its ``action`` with a located message — the actions
themselves (``roost.actions``) sit above the control plane and use these same models, so what
was validated is exactly what runs. :data:`ACTION_PARAMS` maps each action name to its model.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, field_validator

from roost.spec._base import SpecModel
from roost.spec.durations import PositiveDuration
from roost.spec.fields import Command, Name

DIGEST_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")


class ScaleParams(SpecModel):
    """``scale``: set the replica count of a service's running revisions in one environment."""

    service: Name = Field(description="The service to scale.")
    environment: Name = Field(description="Where.")
    replicas: int = Field(ge=0, le=1000, description="The new replica count (0 stops it).")


class EnvironmentParams(SpecModel):
    """``stop-environment`` / ``start-environment``: every service of one environment."""

    environment: Name = Field(description="The environment to stop or start.")


class DeployParams(SpecModel):
    """``deploy``: a new rollout of a service (the guards in front of deploys apply)."""

    service: Name = Field(description="The service to deploy.")
    environment: Name = Field(description="Where.")
    release: str | None = Field(
        default=None, description="An existing release id; none: a release cut from roost.yaml."
    )


class RollbackParams(SpecModel):
    """``rollback``: back to the previous (or a named) release."""

    service: Name = Field(description="The service to roll back.")
    environment: Name = Field(description="Where.")
    to: str | None = Field(
        default=None,
        description="The release to go back to (default: the last one promoted before).",
    )


class PauseParams(SpecModel):
    """``pause-rollout``: pause the active rollout of a service."""

    service: Name = Field(description="The service whose rollout pauses.")
    environment: Name = Field(description="Where.")


class QuarantineParams(SpecModel):
    """``quarantine``: refuse deploys of an artifact digest until it is released."""

    digest: str = Field(description="The artifact digest, sha256:<64 hex>.")
    reason: str = Field(
        min_length=1, max_length=500, description="Why; shown when a deploy is refused."
    )

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str) -> str:
        if not DIGEST_PATTERN.fullmatch(value):
            raise ValueError("expected an artifact digest like sha256:<64 lowercase hex digits>")
        return value


class SilenceParams(SpecModel):
    """``silence``: mute alerts whose labels match, for a while."""

    matchers: dict[str, str] = Field(
        min_length=1, description="Label = value (a leading ~ makes it a regex)."
    )
    duration: PositiveDuration = Field(description="How long the silence lasts, e.g. 2h.")
    comment: str = Field(default="", max_length=500, description="Why, for people.")


class JobParams(SpecModel):
    """``job``: run a command to completion (in the project folder)."""

    command: Command = Field(description="The command and its arguments.")
    timeout: PositiveDuration = Field(
        default_factory=lambda: timedelta(minutes=10),
        description="Kill it after this long.",
    )


class WebhookParams(SpecModel):
    """``webhook``: POST (or PUT) a JSON body to a URL."""

    url: str = Field(pattern=r"^https?://", description="http:// or https:// URL.")
    method: Literal["POST", "PUT"] = Field(default="POST", description="POST or PUT.")
    body: dict[str, Any] = Field(default_factory=dict, description="The JSON body.")
    timeout: PositiveDuration = Field(
        default_factory=lambda: timedelta(seconds=10),
        description="Give up after this long.",
    )


ACTION_PARAMS: dict[str, type[SpecModel]] = {
    "scale": ScaleParams,
    "stop-environment": EnvironmentParams,
    "start-environment": EnvironmentParams,
    "deploy": DeployParams,
    "rollback": RollbackParams,
    "pause-rollout": PauseParams,
    "quarantine": QuarantineParams,
    "silence": SilenceParams,
    "job": JobParams,
    "webhook": WebhookParams,
}
"""Every action by name, with the model of its ``params``."""

SCALING_DOWN = ("scale", "stop-environment")
"""Actions that take capacity away (the business-hours lint looks at them)."""
