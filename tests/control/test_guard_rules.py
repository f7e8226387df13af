"""The deploy-lock and error-budget rules the deploy guards run (they used to have copies in
roost.rollout that only tests called): the real :class:`DeployLocks` check and
:func:`roost.slo.gating.budget_gate`, as the guards call them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.slo._fixtures import START, ratio_slo

from roost.control.guards.locks import DeployLocks
from roost.leases.locking import Lock
from roost.slo import Engine, SloTarget
from roost.slo.gating import budget_gate

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class _Locks:
    """``Locks.get`` answered from memory."""

    def __init__(self, lock: Lock | None) -> None:
        self.lock = lock

    def get(self, name: str) -> Lock | None:
        return self.lock if self.lock is not None and self.lock.name == name else None


def test_a_deploy_lock_held_by_someone_else_refuses_until_it_expires() -> None:
    lock = Lock(
        name="deploy/production/shop",
        holder="ci-42",
        reason="deploy shop-r2",
        acquired_at=T0,
        renewed_at=T0,
        expires_at=T0 + timedelta(seconds=60),
        duration_seconds=60,
        fencing_token=3,
    )
    locks = DeployLocks(_Locks(lock), holder="me")  # type: ignore[arg-type]
    refusal = locks.check("shop", "production", now=T0 + timedelta(seconds=30))
    assert refusal is not None
    assert refusal.guard == "deploy_lock"
    assert "held by ci-42 for 'deploy shop-r2'" in refusal.message
    assert locks.check("shop", "production", now=T0 + timedelta(seconds=61)) is None
    assert DeployLocks(_Locks(lock), holder="ci-42").check("shop", "production", now=T0) is None  # type: ignore[arg-type]
    assert locks.check("shop", "staging", now=T0) is None


class _Fixed:
    def __init__(self, good: float, total: float) -> None:
        self.counts = (good, total)

    def sli_counts(self, service: str, sli: object, *, window: timedelta) -> tuple[float, float]:
        return self.counts


@pytest.mark.parametrize(
    ("enabled", "good", "rollback", "refused"),
    [
        (True, 9_980, False, True),  # 0.2 % bad on a 0.1 % budget: spent
        (True, 9_980, True, False),  # rollbacks are never held back
        (True, 10_000, False, False),
        (False, 9_980, False, False),
    ],
)
def test_error_budget_gate(enabled: bool, good: float, rollback: bool, refused: bool) -> None:
    reports = [Engine().evaluate(SloTarget("shop", ratio_slo()), _Fixed(good, 10_000), now=START)]
    refusal = budget_gate(
        reports, service="shop", environment="production", enabled=enabled, rollback=rollback
    )
    assert (refusal is not None) is refused
    assert budget_gate([], service="shop", environment="production") is None  # unknown: allowed
