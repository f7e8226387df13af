"""Health probes and warm-up: when a revision is started, ready, alive and warm.

Probes keep Kubernetes semantics (same field meanings and defaults) so that the Kubernetes
runtime can map them one to one and people do not have to learn a second vocabulary. Warm-up is
roost's own: readiness says a process *answers*; warm-up says it answers *fast enough* to get
real traffic (caches filled, JIT done, pools open).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import KEY, issue_error
from roost.spec.durations import Duration, PositiveDuration
from roost.spec.fields import Command, Port, StatusRange

HANDLERS = ("http", "tcp", "exec")


class HttpProbe(SpecModel):
    """Probe with an HTTP GET; success is a response whose status is in ``expect_status``."""

    path: str = Field(
        default="/", pattern=r"^/", description="Request path, starting with '/'.", min_length=1
    )
    port: Port | None = Field(default=None, description="Port to probe; default: the service port.")
    scheme: Literal["http", "https"] = Field(default="http", description="http or https.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers, e.g. Host."
    )
    expect_status: StatusRange = Field(
        default="200-399",
        description='Status codes that count as success: one code or an inclusive range "200-399" '
        "(the Kubernetes rule).",
    )


class TcpProbe(SpecModel):
    """Probe by opening a TCP connection; success is an accepted connection."""

    port: Port | None = Field(default=None, description="Port to probe; default: the service port.")


class ExecProbe(SpecModel):
    """Probe by running a command next to the process; success is exit status 0."""

    command: Command = Field(
        description="Program and arguments (a list, or a string split like sh)."
    )


class Probe(SpecModel):
    """One probe: exactly one of ``http``, ``tcp``, ``exec``, plus Kubernetes timing fields."""

    http: HttpProbe | None = Field(default=None, description="HTTP GET probe.")
    tcp: TcpProbe | None = Field(default=None, description="TCP connect probe.")
    exec: ExecProbe | None = Field(default=None, description="Command probe.")
    initial_delay: Duration = Field(
        default=timedelta(0), description="Wait this long after start before the first probe."
    )
    period: PositiveDuration = Field(
        default=timedelta(seconds=10), description="How often to probe (Kubernetes: 10s)."
    )
    timeout: PositiveDuration = Field(
        default=timedelta(seconds=1), description="How long one probe may take (Kubernetes: 1s)."
    )
    success_threshold: int = Field(
        default=1,
        ge=1,
        description="Consecutive successes to count as passing after a failure (Kubernetes: 1; "
        "must be 1 for startup and liveness).",
    )
    failure_threshold: int = Field(
        default=3, ge=1, description="Consecutive failures to count as failing (Kubernetes: 3)."
    )

    @model_validator(mode="before")
    @classmethod
    def _one_handler(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # `tcp:` with nothing after it means "tcp with the defaults"; a dumped model has the
        # unused handlers as null, so null counts only when it is the only handler named.
        present = [key for key in data if key in HANDLERS and data[key] is not None]
        empty = [key for key in data if key in HANDLERS and data[key] is None]
        if not present and len(empty) == 1 and empty[0] != "exec":
            return {**data, empty[0]: {}}
        if not present:
            raise issue_error(
                "a probe needs one of http, tcp or exec",
                hint="e.g. `http: {path: /healthz}` or `tcp: {}`",
            )
        if len(present) > 1:
            raise issue_error(
                f"a probe has exactly one of http, tcp or exec, found {' and '.join(present)}",
                at=(present[1], KEY),
                hint="use a separate probe for each check",
            )
        return data

    @property
    def handler(self) -> HttpProbe | TcpProbe | ExecProbe:
        """The one probe handler that is set."""
        handler = self.http or self.tcp or self.exec
        assert handler is not None  # guaranteed by validation
        return handler


class _OneSuccessProbe(Probe):
    """Kubernetes requires success_threshold 1 for startup and liveness probes: one success is
    enough to count as started or alive, and anything else would only delay a restart."""

    kind: ClassVar[str]

    @field_validator("success_threshold")
    @classmethod
    def _one(cls, value: int) -> int:
        if value != 1:
            raise issue_error(
                f"{cls.kind} probes must have success_threshold 1, got {value}",
                hint="as in Kubernetes; only readiness probes may ask for more",
            )
        return value


class StartupProbe(_OneSuccessProbe):
    """A startup probe (success_threshold is always 1)."""

    kind = "startup"


class LivenessProbe(_OneSuccessProbe):
    """A liveness probe (success_threshold is always 1)."""

    kind = "liveness"


class Probes(SpecModel):
    """The three Kubernetes probes. All are optional; see each for what roost does without it."""

    startup: StartupProbe | None = Field(
        default=None,
        description="Passes once when the process has started; readiness and liveness wait for "
        "it. Without it, the readiness probe (or an open port) marks the start.",
    )
    readiness: Probe | None = Field(
        default=None,
        description="Whether the replica gets traffic right now; failing takes it out of the "
        "router without restarting it. Without it, an open port means ready.",
    )
    liveness: LivenessProbe | None = Field(
        default=None,
        description="Whether the process is stuck; failing restarts it. Without it, only exiting "
        "restarts it.",
    )


class Warmup(SpecModel):
    """Warm a new revision before it gets real traffic, then ramp it in with slow start.

    roost sends ``requests`` GETs to ``path`` on each new replica (after its startup probe passes)
    and keeps going, up to ``max_duration``, until the p95 of the last ``requests`` is below
    ``until_p95_below``. Only then does the router give the revision traffic, starting small and
    growing linearly over ``slow_start``.
    """

    requests: int = Field(default=50, ge=1, description="Warm-up requests per round.")
    path: str = Field(default="/", pattern=r"^/", description="Path to request, starting with '/'.")
    concurrency: int = Field(default=1, ge=1, description="Warm-up requests in flight at once.")
    until_p95_below: Duration | None = Field(
        default=None,
        description="Keep warming until the p95 latency of a round is below this; "
        "null: one round is enough.",
    )
    max_duration: PositiveDuration = Field(
        default=timedelta(minutes=2), description="Give up warming after this long."
    )
    on_timeout: Literal["fail", "proceed"] = Field(
        default="fail",
        description="When max_duration passes: fail (abort the rollout) or proceed cold.",
    )
    slow_start: Duration = Field(
        default=timedelta(0),
        description="After warm-up, ramp the revision's share of traffic linearly over this "
        "window instead of at once (0s: no ramp).",
    )
