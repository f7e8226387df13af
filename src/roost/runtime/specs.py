"""What a runtime is asked to run: plain, validated, immutable data.

The control layer maps a release of a service from roost.yaml onto a :class:`RevisionSpec`; a
runtime backend turns it into processes (local) or a Deployment (Kubernetes). Durations are
seconds as floats so the runtime needs nothing from ``roost.spec``; probe fields keep the
Kubernetes names, meanings and defaults so the Kubernetes backend maps them one to one.

Models are pydantic and frozen: the local runtime persists the spec next to the replica pids
(see ``roost.runtime.local.persisting``) and reads it back when it re-adopts a revision, so the
spec must round-trip through JSON exactly — config file contents are bytes, stored as base64.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from roost.spec.names import ENV_NAME_PATTERN

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
"""Service and revision names: they become directory names, so no '/', no leading '.'."""

_ENV_NAME = re.compile(ENV_NAME_PATTERN)


class _Spec(BaseModel):
    # frozen: a running revision's spec never changes (a change is a new revision);
    # bytes as base64: config files may be binary and the spec is persisted as JSON.
    # hide_input_in_errors: a spec's input holds secret values, and errors end up in logs.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        ser_json_bytes="base64",
        val_json_bytes="base64",
        hide_input_in_errors=True,
    )


class HttpProbe(_Spec):
    """An HTTP GET; success is a response status within ``expect_status`` (inclusive)."""

    path: str = Field(default="/", pattern=r"^/")
    port: int | None = Field(default=None, ge=1, le=65535, description="None: the replica port.")
    scheme: Literal["http", "https"] = "http"
    headers: Mapping[str, str] = Field(default_factory=dict)
    expect_status: tuple[int, int] = (200, 399)


class TcpProbe(_Spec):
    """A TCP connect; success is an accepted connection."""

    port: int | None = Field(default=None, ge=1, le=65535, description="None: the replica port.")


class ExecProbe(_Spec):
    """A command run next to the replica (same workdir and environment); success is exit 0."""

    command: tuple[str, ...] = Field(min_length=1)


class ProbeSpec(_Spec):
    """One probe: exactly one of ``http``, ``tcp``, ``exec``, with Kubernetes timing.

    ``period`` is the pause between the end of one check and the start of the next; a check that
    takes longer than ``timeout`` counts as a failure.
    """

    http: HttpProbe | None = None
    tcp: TcpProbe | None = None
    exec: ExecProbe | None = None
    initial_delay: float = Field(default=0.0, ge=0)
    period: float = Field(default=10.0, gt=0)
    timeout: float = Field(default=1.0, gt=0)
    success_threshold: int = Field(default=1, ge=1)
    failure_threshold: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _exactly_one_handler(self) -> ProbeSpec:
        present = [n for n in ("http", "tcp", "exec") if getattr(self, n) is not None]
        if len(present) != 1:
            found = " and ".join(present) if present else "none"
            raise ValueError(f"a probe needs exactly one of http, tcp or exec (found {found})")
        return self

    @property
    def kind(self) -> str:
        """``"http"``, ``"tcp"`` or ``"exec"``."""
        return "http" if self.http else "tcp" if self.tcp else "exec"


class ProbesSpec(_Spec):
    """The three Kubernetes probes; each is optional.

    Without a startup probe a replica counts as started when its process is running; without a
    readiness probe it is ready as soon as it has started; without a liveness probe only exiting
    restarts it.
    """

    startup: ProbeSpec | None = None
    readiness: ProbeSpec | None = None
    liveness: ProbeSpec | None = None

    @model_validator(mode="after")
    def _one_success_to_start_or_live(self) -> ProbesSpec:
        for kind in ("startup", "liveness"):
            probe: ProbeSpec | None = getattr(self, kind)
            if probe is not None and probe.success_threshold != 1:
                raise ValueError(f"{kind} probes must have success_threshold 1 (as in Kubernetes)")
        return self


class RestartPolicy(StrEnum):
    """When an exited replica is started again (the Kubernetes pod ``restartPolicy``)."""

    ALWAYS = "always"
    ON_FAILURE = "on_failure"
    NEVER = "never"


class BackoffSpec(_Spec):
    """Exponential restart delay: ``initial * factor**n`` capped at ``maximum``.

    ``n`` counts consecutive crashes; it goes back to 0 when a run lasted ``reset_after`` seconds
    (Kubernetes: 10 s doubling, 5 min cap, reset after 10 min; roost starts at 1 s because a
    local process restarts in milliseconds, not after an image pull).
    """

    initial: float = Field(default=1.0, ge=0)
    factor: float = Field(default=2.0, ge=1)
    maximum: float = Field(default=300.0, ge=0)
    reset_after: float = Field(default=600.0, gt=0)


class ConfigFile(_Spec):
    """A file written for the revision before its replicas start."""

    path: str = Field(
        description="Relative to the revision's config directory ($ROOST_CONFIG_DIR)."
    )
    content: bytes
    mode: int = Field(default=0o644, ge=0, le=0o777)

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        normal = posixpath.normpath(value)
        if not value or value.startswith("/") or normal in (".", "..") or normal.startswith("../"):
            raise ValueError(f"config file path {value!r} must be relative and stay inside")
        return normal


class RevisionSpec(_Spec):
    """One revision of a service: what to run, how many, and how to tell it is healthy.

    Every replica gets ``$PORT`` (its own free port on 127.0.0.1, or ``port`` when fixed),
    ``$ROOST_SERVICE``, ``$ROOST_REVISION``, ``$ROOST_REPLICA``, ``$ROOST_CONFIG_DIR`` and, when
    secrets are delivered as files, ``$ROOST_SECRETS_DIR``. ``secrets`` maps an environment
    variable name to its value; ``secret_delivery`` says whether it arrives as that variable, as
    a file of that name (mode 0600) or both. Secret values never appear in ``repr``.
    """

    service: str = Field(pattern=NAME_PATTERN)
    revision: str = Field(pattern=NAME_PATTERN)
    command: tuple[str, ...] = Field(min_length=1)
    workdir: Path
    env: Mapping[str, str] = Field(default_factory=dict)
    inherit_env: bool = Field(
        default=True,
        description="Start from the runtime's own environment (PATH, HOME, ...) before adding env.",
    )
    config_files: tuple[ConfigFile, ...] = ()
    secrets: Mapping[str, str] = Field(default_factory=dict, repr=False)
    secret_delivery: Literal["env", "file", "both"] = "env"  # noqa: S105 - a mode
    replicas: int = Field(default=1, ge=0)
    port: int | None = Field(
        default=None, ge=1, le=65535, description="A fixed port for every replica; None: pick."
    )
    probes: ProbesSpec = Field(default_factory=ProbesSpec)
    memory_limit_bytes: int | None = Field(default=None, gt=0)
    grace_period: float = Field(default=30.0, ge=0)
    restart_policy: RestartPolicy = RestartPolicy.ALWAYS
    backoff: BackoffSpec = Field(default_factory=BackoffSpec)

    @field_validator("secrets", "env")
    @classmethod
    def _env_names(cls, value: Mapping[str, str]) -> Mapping[str, str]:
        for name in value:
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid environment variable name")
        return value

    @field_validator("config_files")
    @classmethod
    def _unique_paths(cls, value: tuple[ConfigFile, ...]) -> tuple[ConfigFile, ...]:
        seen: set[str] = set()
        for item in value:
            if item.path in seen:
                raise ValueError(f"config file {item.path!r} is listed twice")
            seen.add(item.path)
        return value

    @property
    def key(self) -> tuple[str, str]:
        """``(service, revision)``: how runtimes index revisions."""
        return (self.service, self.revision)
