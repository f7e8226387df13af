"""Subscriptions API filter dialects on envelopes, and the retry policy's arithmetic."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from roost.events.filtering import matches
from roost.events.retrying import after_failure, backoff
from roost.spec.triggers import Filter, Retry

EVENT: dict[str, Any] = {
    "id": "e1",
    "type": "dev.roost.scan.vulnerability_found",
    "source": "roost:/roost/scan",
    "subject": "sha256:abc",
    "data": {"severity": "critical", "count": 3, "pkg": {"name": "jinja2"}, "fixed": True},
}


def _f(raw: dict[str, Any]) -> Filter:
    return Filter.model_validate(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"exact": {"type": "dev.roost.scan.vulnerability_found"}}, True),
        ({"exact": {"type": "dev.roost.scan"}}, False),
        ({"exact": {"type": "dev.roost.scan.vulnerability_found", "subject": "x"}}, False),
        ({"prefix": {"type": "dev.roost.scan."}}, True),
        ({"prefix": {"missing": ""}}, False),
        ({"suffix": {"type": ".vulnerability_found"}}, True),
        ({"suffix": {"subject": "abd"}}, False),
        ({"exact": {"data.severity": "critical"}}, True),
        ({"exact": {"data.count": 3}}, True),
        ({"exact": {"data.fixed": True}}, True),
        ({"exact": {"data.pkg.name": "jinja2"}}, True),
        ({"exact": {"data.pkg": "x"}}, False),
        ({"exact": {"data.nope.deeper": "x"}}, False),
        ({"all": [{"prefix": {"type": "dev."}}, {"exact": {"data.severity": "high"}}]}, False),
        ({"any": [{"exact": {"data.severity": "high"}}, {"suffix": {"subject": "abc"}}]}, True),
        ({"not": {"exact": {"data.severity": "critical"}}}, False),
        ({"not": {"exact": {"data.severity": "low"}}}, True),
    ],
)
def test_dialects(raw: dict[str, Any], expected: bool) -> None:
    assert matches([_f(raw)], EVENT) is expected


def test_filters_are_anded_and_none_matches_everything() -> None:
    assert matches([], EVENT)
    both = [_f({"prefix": {"type": "dev.roost."}}), _f({"exact": {"data.severity": "low"}})]
    assert not matches(both, EVENT)


def test_backoff_doubles_up_to_its_cap_with_bounded_jitter() -> None:
    policy = Retry(backoff=timedelta(seconds=1), max_backoff=timedelta(seconds=5), jitter=0)
    rng = random.Random(1)
    assert [backoff(policy, n, rng=rng).total_seconds() for n in range(1, 6)] == [1, 2, 4, 5, 5]
    jittery = Retry(backoff=timedelta(seconds=10), jitter=0.5)
    delays = {backoff(jittery, 1, rng=rng).total_seconds() for _ in range(200)}
    assert min(delays) >= 5
    assert max(delays) <= 15
    assert len(delays) > 100  # it does vary


def test_giving_up_after_max_attempts_or_max_age() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(0)
    policy = Retry(max_attempts=3, backoff=timedelta(seconds=1), jitter=0)
    assert after_failure(
        policy, attempts=2, since=now, now=now, rng=rng
    ).retry_at == now + timedelta(seconds=2)
    spent = after_failure(policy, attempts=3, since=now, now=now, rng=rng)
    assert spent.retry_at is None
    assert "max_attempts 3" in str(spent.reason)
    old = Retry(max_attempts=50, max_age=timedelta(seconds=30), jitter=0)
    aged = after_failure(old, attempts=1, since=now - timedelta(seconds=30), now=now, rng=rng)
    assert aged.retry_at is None
    assert "max_age" in str(aged.reason)
