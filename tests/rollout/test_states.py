import json
from datetime import timedelta
from typing import Any

import pytest
from tests.rollout._fakes import ANALYSIS, T0, FakeMetrics, Loop, make_service

from roost.rollout import (
    CommandKind,
    Decision,
    HumanCommand,
    Observation,
    Phase,
    RolloutState,
    action_from_dict,
    decide,
    mark_traffic_reverted,
    restore_actions,
)

SERVICE = make_service(
    rollout={
        "strategy": "canary",
        "steps": [
            {"set_weight": 20},
            {"pause": "2m"},
            {"analysis": {"duration": "3m"}},
            {"set_weight": 60},
            {"pause": {}},
        ],
    },
    analysis={**ANALYSIS, "compare_to_stable": {"min_effect_size": 0.3}},
    warmup={"requests": 10, "slow_start": "20s"},
)


def persisted(state: RolloutState) -> RolloutState:
    """What the executor gets back from RolloutRecord.data after a restart."""
    return RolloutState.from_dict(json.loads(json.dumps(state.to_dict())))


def metrics() -> FakeMetrics:
    m = FakeMetrics()
    m.healthy("shop-r1")
    m.serve("shop-r2", [0.1] * 30)  # inconclusive at first
    return m


def test_state_round_trips_through_json_at_every_point_of_a_rollout() -> None:
    loop = Loop(SERVICE, metrics=metrics())
    loop.run(until=T0 + timedelta(minutes=4))
    loop.metrics.healthy("shop-r2", seed=4)
    loop.run()
    loop.tick(HumanCommand(CommandKind.PAUSE, by="alice", reason="look at logs"))
    loop.metrics.serve("shop-r2", [0.1] * 300, errors=60)
    loop.run(until=loop.clock.now() + timedelta(minutes=5))
    for _ in range(5):
        loop.clock.advance(60)
        loop.tick()
    reverted = mark_traffic_reverted(loop.state, at=loop.clock.now())
    states = [d.state for d in loop.decisions] + [reverted.state]
    assert {s.phase for s in states} >= {Phase.PROGRESSING, Phase.ABORTED}
    assert any(s.pause is not None for s in states)
    assert any(s.last_verdict is not None for s in states)
    for state in states:
        assert persisted(state) == state
    assert persisted(reverted.state).abort == reverted.state.abort


def test_resuming_from_a_persisted_state_gives_the_same_decisions() -> None:
    """Two control planes: one runs on, the other "crashes" before every decision and resumes
    from what was persisted. They must decide exactly the same things."""
    steady = Loop(SERVICE, metrics=metrics())
    crashy = Loop(SERVICE, metrics=metrics())
    original_decide = crashy.tick

    def tick_after_restart(command: HumanCommand | None = None) -> Decision:
        crashy.decision = Decision(persisted(crashy.decision.state), crashy.decision.actions)
        return original_decide(command)

    crashy.tick = tick_after_restart  # type: ignore[method-assign]
    for loop in (steady, crashy):
        loop.run(until=T0 + timedelta(minutes=3))
        loop.metrics.healthy("shop-r2", seed=8)
        loop.run()
        loop.tick(HumanCommand(CommandKind.PROMOTE, by="bob"))
        loop.run()
    assert steady.state.phase is Phase.PROMOTED
    assert [d.to_dict() for d in crashy.decisions] == [d.to_dict() for d in steady.decisions]


def test_resume_mid_step_decides_as_if_nothing_happened() -> None:
    loop = Loop(SERVICE, metrics=metrics())
    loop.run(until=T0 + timedelta(minutes=2, seconds=30))  # inside the 3m analysis step
    state = loop.state
    assert state.step == 2
    later = loop.clock.now() + timedelta(seconds=40)
    observation = Observation(warm_replicas=1)
    assert decide(persisted(state), SERVICE, observation, now=later) == decide(
        state, SERVICE, observation, now=later
    )
    # And the restarted executor knows what to re-apply to router and runtime.
    assert [a.to_dict()["kind"] for a in restore_actions(persisted(state), now=later)] == [
        "scale_canary",
        "set_weights",
    ]


def test_decisions_and_actions_serialise_too() -> None:
    loop = Loop(SERVICE, metrics=metrics())
    loop.run()
    for decision in loop.decisions:
        data = json.loads(json.dumps(decision.to_dict()))
        again = Decision.from_dict(data)
        assert again == decision
        for action, raw in zip(decision.actions, data["actions"], strict=True):
            assert action_from_dict(raw) == action


def test_an_unknown_format_is_refused() -> None:
    data: dict[str, Any] = Loop(SERVICE).state.to_dict()
    data["format"] = 99
    with pytest.raises(ValueError, match="format 99"):
        RolloutState.from_dict(data)
    with pytest.raises(ValueError, match="unknown action kind"):
        action_from_dict({"kind": "reboot"})


def test_repr_shows_where_the_rollout_is() -> None:
    healthy = FakeMetrics()
    healthy.healthy("shop-r1")
    healthy.healthy("shop-r2", seed=2)
    loop = Loop(SERVICE, metrics=healthy)
    loop.run()
    text = repr(loop.state)
    assert text.startswith("RolloutState(shop canary shop-r1->shop-r2 phase=progressing step=4")
    assert "weights={'shop-r1': 40, 'shop-r2': 60}" in text
    assert "paused(hold: step 5 of 5 holds until promote)" in text
    assert "PauseForHuman(reason='step 5 of 5 holds until promote')" in repr(loop.decision)
