"""Warm-up gating and slow start: when a new replica may get traffic, and how much.

Readiness probes lie: a process that answers ``/healthz`` can still take seconds per request
while caches fill and the JIT warms up. So a new replica gets real traffic only after its startup
probe passed *and* warm-up requests show it is fast (the spec's :class:`~roost.spec.Warmup`),
and then its share grows linearly over ``slow_start`` instead of jumping to the step's weight.

The executor sends the warm-up requests and reports what it saw per replica
(:class:`WarmupProgress`); :func:`warmup_status` decides. The rollout counts the replicas that are
ready (warm, or allowed to proceed cold) before it gives the revision more traffic.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from roost.rollout import _formatting as fmt
from roost.spec.probes import Warmup

_MS = timedelta(milliseconds=1)


class WarmupPhase(enum.Enum):
    """Where one replica is on its way to traffic."""

    STARTING = "starting"
    """The startup probe has not passed yet."""
    WARMING = "warming"
    """Warm-up requests are being sent; the latency bound does not hold yet."""
    WARM = "warm"
    """Warm: may get traffic."""
    COLD = "cold"
    """Warm-up timed out and the spec says ``on_timeout: proceed``: gets traffic cold."""
    FAILED = "failed"
    """Warm-up timed out and the spec says ``on_timeout: fail``: the rollout must abort."""

    def __repr__(self) -> str:
        return f"WarmupPhase.{self.name}"


@dataclass(frozen=True, slots=True)
class WarmupProgress:
    """What the executor observed for one replica.

    ``started_at``: when its startup probe passed (``None``: not yet). ``requests_sent``: warm-up
    requests answered since then. ``round_p95``: p95 latency in seconds of the last complete
    round of ``warmup.requests`` requests (``None``: no complete round yet).
    """

    started_at: datetime | None
    requests_sent: int = 0
    round_p95: float | None = None


@dataclass(frozen=True, slots=True)
class WarmupStatus:
    """The gate's answer for one replica, with the reason people see."""

    phase: WarmupPhase
    reason: str

    @property
    def ready(self) -> bool:
        """Whether the replica may get traffic now."""
        return self.phase in (WarmupPhase.WARM, WarmupPhase.COLD)

    @property
    def failed(self) -> bool:
        """Whether warm-up failed for good (the rollout aborts)."""
        return self.phase is WarmupPhase.FAILED


def warmup_status(
    warmup: Warmup | None, progress: WarmupProgress, *, now: datetime
) -> WarmupStatus:
    """Whether a replica with ``progress`` may get traffic at ``now`` under ``warmup``.

    Without a warm-up section, a passed startup probe is enough. With one, the replica needs a
    full round of ``warmup.requests`` requests and, if ``until_p95_below`` is set, that round's
    p95 under the bound. ``max_duration`` counts from the startup probe passing; when it is up
    and the replica is still not warm, ``on_timeout`` decides: ``fail`` (the rollout aborts) or
    ``proceed`` (traffic, cold). Criteria that hold exactly at the deadline count as warm.
    """
    if progress.started_at is None:
        return WarmupStatus(WarmupPhase.STARTING, "waiting for the startup probe")
    if warmup is None:
        return WarmupStatus(WarmupPhase.WARM, "startup probe passed (no warm-up configured)")
    warm = _warm(warmup, progress)
    if warm is not None:
        return warm
    if now - progress.started_at >= warmup.max_duration:
        return _timed_out(warmup, progress)
    return WarmupStatus(WarmupPhase.WARMING, f"warming: {_still_cold(warmup, progress)}")


def _warm(warmup: Warmup, progress: WarmupProgress) -> WarmupStatus | None:
    if progress.requests_sent < warmup.requests:
        return None
    sent = fmt.requests(progress.requests_sent)
    bound = warmup.until_p95_below
    if bound is None:
        return WarmupStatus(WarmupPhase.WARM, f"warm after {sent}")
    p95 = progress.round_p95
    if p95 is None or p95 >= bound.total_seconds():
        return None
    return WarmupStatus(
        WarmupPhase.WARM,
        f"warm: p95 {fmt.latency(p95)} < {fmt.latency(bound.total_seconds())} after {sent}",
    )


def _timed_out(warmup: Warmup, progress: WarmupProgress) -> WarmupStatus:
    why = f"not warm after {fmt.span(warmup.max_duration)} ({_still_cold(warmup, progress)})"
    if warmup.on_timeout == "fail":
        return WarmupStatus(WarmupPhase.FAILED, f"{why}; on_timeout: fail")
    return WarmupStatus(WarmupPhase.COLD, f"{why}; on_timeout: proceed, so it gets traffic cold")


def _still_cold(warmup: Warmup, progress: WarmupProgress) -> str:
    if progress.requests_sent < warmup.requests:
        return f"{progress.requests_sent}/{warmup.requests} warm-up requests answered"
    assert warmup.until_p95_below is not None
    bound = fmt.latency(warmup.until_p95_below.total_seconds())
    if progress.round_p95 is None:
        return f"no complete round yet to compare with p95 < {bound}"
    return f"p95 {fmt.latency(progress.round_p95)} ≥ {bound}"


def effective_weight(
    target: int, *, started_at: datetime | None, now: datetime, slow_start: timedelta
) -> int:
    """The weight (percent) to give a revision whose traffic began at ``started_at``.

    Linear from 0 at ``started_at`` to ``target`` at ``started_at + slow_start``, rounded down
    to whole percent (the router takes integers, and rounding down never overshoots the
    target). ``started_at`` of ``None`` means no traffic yet: 0. No slow start: ``target``.
    A target reached later in the rollout continues the same ramp: the ramp is about how long
    the revision has served traffic, not about each step.
    """
    if target <= 0:
        return 0
    if started_at is None:
        return 0
    if slow_start <= timedelta(0):
        return target
    elapsed = now - started_at
    if elapsed >= slow_start:
        return target
    if elapsed <= timedelta(0):
        return 0
    return target * (elapsed // _MS) // (slow_start // _MS)


def next_ramp_change(
    target: int, *, started_at: datetime | None, now: datetime, slow_start: timedelta
) -> datetime | None:
    """When :func:`effective_weight` next grows (``None``: it is at ``target`` already or no
    ramp is running), so the executor wakes up exactly then and not in a polling loop."""
    if started_at is None or target <= 0:
        return None
    current = effective_weight(target, started_at=started_at, now=now, slow_start=slow_start)
    if current >= target:
        return None
    span_ms = slow_start // _MS
    # The first whole millisecond at which target * elapsed // span reaches current + 1.
    elapsed_ms = -(-(current + 1) * span_ms // target)
    return started_at + elapsed_ms * _MS
