from datetime import timedelta

import pytest
from tests.slo._fixtures import START, ratio_slo

from roost.rollout.guarding import Refusal as RolloutRefusal
from roost.slo import Engine, SloTarget
from roost.slo.gating import Override, Refusal, budget_gate, budget_left, page_firing


class Fixed:
    def __init__(self, good: float, total: float) -> None:
        self.counts = (good, total)

    def sli_counts(self, service, sli, *, window: timedelta):
        return self.counts


def _reports(good: float, total: float):
    return [Engine().evaluate(SloTarget("web", ratio_slo()), Fixed(good, total), now=START)]


def test_budget_gate_refuses_deploys_while_spent_unless_overridden_with_a_reason() -> None:
    spent = _reports(9_980, 10_000)  # 0.2 % bad on a 0.1 % budget: -100 % left
    assert budget_left(spent, service="web") == pytest.approx(-1.0)
    refusal = budget_gate(spent, service="web", environment="production")
    assert isinstance(refusal, Refusal)
    assert refusal.guard == "error_budget"
    assert str(refusal).startswith("web's error budget in production is spent")
    # Same fields as the rollout guard's refusal.
    assert RolloutRefusal.__slots__ == Refusal.__slots__
    assert budget_gate(spent, service="web", environment="production", rollback=True) is None
    assert budget_gate(spent, service="web", environment="p", enabled=False) is None
    no_reason = budget_gate(
        spent, service="web", environment="p", override_by="al", override_reason=" "
    )
    assert isinstance(no_reason, Refusal)
    assert "needs a reason" in no_reason.message
    ok = budget_gate(
        spent,
        service="web",
        environment="p",
        override_by="al",
        override_reason="hotfix for the outage",
    )
    assert isinstance(ok, Override)
    assert ok.to_event()["reason"] == "hotfix for the outage"
    healthy = _reports(10_000, 10_000)
    assert budget_gate(healthy, service="web", environment="p") is None
    assert budget_left([], service="web") is None


def test_page_firing_names_the_slo_and_tier() -> None:
    assert page_firing(
        _reports(0, 10_000),
        service="web",
    ).startswith("web/availability: page-fast fires")
    assert page_firing(_reports(10_000, 10_000), service="web") is None
    assert page_firing(_reports(0, 10_000), service="api") is None
