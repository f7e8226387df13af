"""When to restart a replica that ended: a pure function of the policy and the run that ended.

Kept free of I/O and clocks so it is tested with plain numbers; the supervisor measures the
uptime with its Clock and sleeps the returned delay with ``clock.asleep``.
"""

from __future__ import annotations

from dataclasses import dataclass

from roost.runtime.specs import BackoffSpec, RestartPolicy


@dataclass(frozen=True)
class RestartDecision:
    """What to do after a run ended."""

    restart: bool
    delay: float
    """Seconds to wait before starting again (0 when not restarting)."""
    crash_streak: int
    """Consecutive short runs so far, counting the one that just ended; feeds the next decision."""


def backoff_delay(backoff: BackoffSpec, crash_streak: int) -> float:
    """The delay before restarting after the ``crash_streak``-th consecutive crash (1-based).

    ``initial * factor**(crash_streak-1)``, capped at ``maximum``: 1, 2, 4, … 300 by default.
    """
    if crash_streak <= 0:
        return 0.0
    # Cap the exponent before computing the power: a replica crashing for weeks must not
    # overflow a float.
    exponent = min(crash_streak - 1, 64)
    return float(min(backoff.maximum, backoff.initial * backoff.factor**exponent))


def decide_restart(
    policy: RestartPolicy,
    backoff: BackoffSpec,
    *,
    crash_streak: int,
    uptime: float,
    succeeded: bool,
) -> RestartDecision:
    """Decide whether and when to restart after a run of ``uptime`` seconds ended.

    ``crash_streak`` is the value returned by the previous decision (0 at first). A run that
    lasted ``backoff.reset_after`` seconds or more starts a new streak, so a replica that crashes
    once a day restarts after ``initial`` seconds, not after the cap. ``succeeded`` is exit
    status 0 (not killed by roost): under ``on_failure`` that ends the replica for good.
    """
    if policy is RestartPolicy.NEVER or (policy is RestartPolicy.ON_FAILURE and succeeded):
        return RestartDecision(restart=False, delay=0.0, crash_streak=crash_streak)
    streak = 1 if uptime >= backoff.reset_after else crash_streak + 1
    return RestartDecision(restart=True, delay=backoff_delay(backoff, streak), crash_streak=streak)
