"""The project: one roost.yaml with its environments and services."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, WithJsonSchema, field_validator, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import Issue, format_loc, issue_error, issues_error
from roost.spec.alerting import Alerting
from roost.spec.analysis import Analysis
from roost.spec.auth import Auth
from roost.spec.availability import check_available
from roost.spec.environments import Environment
from roost.spec.fields import Command, Name, describe
from roost.spec.probes import Probes, Warmup
from roost.spec.references import check_references
from roost.spec.rollouts import Rollout
from roost.spec.scans import ProjectScan
from roost.spec.schedules import Schedule
from roost.spec.services import Replicas, Resources, Service
from roost.spec.triggers import EventBus, Trigger

FORMAT_VERSION = 1


def _version(value: Any) -> Literal[1]:
    if value == FORMAT_VERSION and isinstance(value, int) and not isinstance(value, bool):
        return 1
    raise issue_error(
        f"only format version {FORMAT_VERSION} is supported, got {describe(value)}",
        hint="write `version: 1`; a newer file needs a newer roost",
    )


class Defaults(SpecModel):
    """Settings for every service that does not set them itself (a service's own value replaces
    the default as a whole; nothing is merged key by key)."""

    replicas: Replicas | None = Field(default=None, description="Default replica count.")
    resources: Resources | None = Field(default=None, description="Default resource limits.")
    probes: Probes | None = Field(default=None, description="Default probes.")
    warmup: Warmup | None = Field(default=None, description="Default warm-up.")
    rollout: Rollout | None = Field(default=None, description="Default rollout strategy.")
    analysis: Analysis | None = Field(default=None, description="Default canary analysis.")


class SecretStore(SpecModel):
    """Where the key that seals ``roost secret set`` values comes from (docs/secrets.md).

    Default: ``$ROOST_SECRET_KEY`` if set, else a key file outside the project."""

    key_command: Command | None = Field(
        default=None,
        description="A command that prints the key-encryption key (32 bytes in base64), e.g. "
        "`pass show roost/kek`; run by `roost serve` and `roost secret`.",
    )


class Project(SpecModel):
    """A roost project: everything in one roost.yaml."""

    project: Name = Field(description="Project name: lowercase letters, digits and '-'.")
    version: Annotated[Literal[1], PlainValidator(_version), WithJsonSchema({"const": 1})] = Field(
        description="Format version of this file; always 1."
    )
    description: str | None = Field(default=None, description="What it is, for people.")
    defaults: Defaults = Field(
        default_factory=Defaults, description="Settings for services that do not set them."
    )
    environments: dict[Name, Environment] = Field(
        min_length=1,
        description="Deploy targets by name, in the order they are shown (promotion order is "
        "set by promote_from).",
    )
    services: list[Service] = Field(default_factory=list, description="The programs to run.")
    scan: ProjectScan = Field(
        default_factory=ProjectScan, description="Vulnerability scan waivers (see roost scan)."
    )
    alerting: Alerting = Field(
        default_factory=Alerting, description="Where the SLO alerts of `roost serve` are sent."
    )
    schedules: dict[Name, Schedule] = Field(
        default_factory=dict,
        description="Actions run on a cron schedule, each in an explicit time zone.",
    )
    secret_store: SecretStore = Field(
        default_factory=SecretStore,
        description="The key of the sealed secrets (`roost secret`, roost:NAME sources).",
    )
    event_bus: EventBus = Field(
        default_factory=EventBus, description="Where roost's events are published."
    )
    triggers: list[Trigger] = Field(
        default_factory=list,
        description="Which events go where: webhooks, Slack, tickets, commands, actions.",
    )

    auth: Auth = Field(
        default_factory=Auth,
        description="Who may call the API besides holders of roost tokens (an OIDC issuer).",
    )

    @field_validator("triggers")
    @classmethod
    def _unique_triggers(cls, triggers: list[Trigger]) -> list[Trigger]:
        seen: set[str] = set()
        for trigger in triggers:
            if trigger.name in seen:
                raise issue_error(
                    f"two triggers are called {trigger.name!r}",
                    hint="the DLQ and the metrics tell triggers apart by name: rename one",
                )
            seen.add(trigger.name)
        return triggers

    @model_validator(mode="after")
    def _references(self) -> Project:
        # The loader runs the same checks itself on the raw data (so they also run when other
        # parts of the file are invalid) and ignores this error; this is for models built in code.
        data = self.model_dump(by_alias=True)
        issues = [
            Issue(
                issue.message,
                at=issue.at,
                hint=issue.hint or f"first defined at {format_loc(issue.related)}",
            )
            if issue.related is not None
            else issue
            for issue in check_references(data)
        ]
        issues += check_available(data)
        if issues:
            raise issues_error(issues)
        return self

    def trigger(self, name: str) -> Trigger:
        """The trigger called ``name``; ``KeyError`` if there is none."""
        for trigger in self.triggers:
            if trigger.name == name:
                return trigger
        raise KeyError(name)

    def service(self, name: str) -> Service:
        """The service called ``name``; ``KeyError`` if there is none."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def resolved_service(self, name: str) -> Service:
        """The service called ``name`` with ``defaults`` applied to the fields it does not set."""
        service = self.service(name)
        updates = {
            field: getattr(self.defaults, field)
            for field in Defaults.model_fields
            if field not in service.model_fields_set and getattr(self.defaults, field) is not None
        }
        return service.model_copy(update=updates) if updates else service

    def promotion_order(self) -> list[str]:
        """Environment names, each after the one it promotes from (file order otherwise)."""
        order: list[str] = []
        remaining = list(self.environments)
        while remaining:
            for name in remaining:
                parent = self.environments[name].promote_from
                if parent is None or parent in order:
                    order.append(name)
                    remaining.remove(name)
                    break
            else:  # pragma: no cover - validation rejects loops and unknown names
                raise AssertionError(f"promotion order loops among {remaining}")
        return order
