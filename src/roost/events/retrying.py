"""When to try a delivery again, and when to give up (pure; times from the caller's clock).

Delay before attempt n+1 (n attempts made) = min(backoff * 2**(n-1), max_backoff), varied by
up to ``jitter`` either way so a receiver that comes back is not hit by every retry at once.
Give up when ``max_attempts`` are spent or the next attempt would come after ``max_age``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from roost.spec.triggers import Retry


@dataclass(frozen=True, slots=True)
class Verdict:
    """After a failed attempt: retry at ``retry_at``, or give up (``retry_at`` None) because
    of ``reason``."""

    retry_at: datetime | None
    reason: str | None = None


def backoff(policy: Retry, attempts: int, *, rng: random.Random) -> timedelta:
    """The delay after ``attempts`` failed attempts (>= 1)."""
    first: timedelta = policy.backoff
    longest: timedelta = policy.max_backoff
    delay = min(first * (2 ** max(0, attempts - 1)), longest)
    spread = policy.jitter * (2 * rng.random() - 1)
    varied: timedelta = delay * (1 + spread)
    return max(timedelta(0), varied)


def after_failure(
    policy: Retry, *, attempts: int, since: datetime, now: datetime, rng: random.Random
) -> Verdict:
    """What to do after the ``attempts``-th attempt failed; ``since``: when the delivery was
    enqueued (or replayed from the dead-letter queue), what ``max_age`` counts from."""
    if attempts >= policy.max_attempts:
        return Verdict(None, f"{attempts} attempt(s) failed (max_attempts {policy.max_attempts})")
    retry_at = now + backoff(policy, attempts, rng=rng)
    if retry_at - since > policy.max_age:
        return Verdict(
            None,
            f"the next attempt would be past max_age ({policy.max_age}) after "
            f"{attempts} attempt(s)",
        )
    return Verdict(retry_at)
