from datetime import timedelta

from tests.rollout._fakes import ANALYSIS, T0, FakeMetrics, Loop, make_service

from roost.rollout import (
    CommandKind,
    HumanCommand,
    PauseForHuman,
    PauseKind,
    Phase,
    Promote,
    ScaleCanary,
    ScaleDownAfter,
    SetWeights,
    Strategy,
)


def blue_green(**fields: object) -> dict[str, object]:
    return {"strategy": "blue_green", "preview_port": 9081, "scale_down_delay": "10m", **fields}


def promote(by: str = "alice") -> HumanCommand:
    return HumanCommand(CommandKind.PROMOTE, by=by)


def test_preview_at_full_size_with_no_traffic_then_one_switch_on_promote() -> None:
    loop = Loop(make_service(rollout=blue_green()))
    assert loop.state.strategy is Strategy.BLUE_GREEN
    assert loop.decision.of_kind(ScaleCanary) == [ScaleCanary("shop-r2", 4)]
    assert loop.decision.of_kind(SetWeights) == [SetWeights({"shop-r1": 100, "shop-r2": 0})]

    waiting = loop.run()
    assert waiting.state.phase is Phase.PREVIEW
    assert waiting.state.pause is not None
    assert waiting.state.pause.kind is PauseKind.AWAITING_PROMOTE
    (ask,) = waiting.of_kind(PauseForHuman)
    assert ask.reason == "preview of shop-r2 is ready on port 9081: promote to switch all traffic"
    assert waiting.state.weights == {"shop-r1": 100, "shop-r2": 0}

    loop.clock.advance(300)
    resumed = loop.tick(HumanCommand(CommandKind.RESUME, by="alice"))
    assert resumed.state.phase is Phase.PREVIEW  # only promote switches

    switched = loop.tick(promote())
    assert switched.state.phase is Phase.PROMOTED
    assert switched.of_kind(SetWeights) == [SetWeights({"shop-r1": 0, "shop-r2": 100})]
    (scale_down,) = switched.of_kind(ScaleDownAfter)
    assert scale_down.revision == "shop-r1"
    assert scale_down.delay == timedelta(minutes=10)
    assert scale_down.not_before == loop.clock.now() + timedelta(minutes=10)
    assert isinstance(switched.actions[-1], Promote)
    # Exactly two router updates in the whole rollout: register at 0, switch at 100.
    assert len([a for a in loop.actions() if isinstance(a, SetWeights)]) == 2


def test_promote_before_the_preview_is_ready_is_ignored() -> None:
    loop = Loop(make_service(rollout=blue_green()), warm=lambda state: 2)
    early = loop.tick(promote())
    assert early.state.phase is Phase.PROGRESSING
    assert "command_ignored" in [getattr(a, "entry", None) for a in early.actions]


def test_auto_promote_waits_for_the_delay_and_a_passing_analysis() -> None:
    metrics = FakeMetrics()
    metrics.healthy("shop-r1")
    metrics.healthy("shop-r2", seed=2)
    service = make_service(
        rollout=blue_green(auto_promote=True, auto_promote_after="3m"), analysis=ANALYSIS
    )
    loop = Loop(service, metrics=metrics)
    final = loop.run()
    assert final.state.phase is Phase.PROMOTED
    assert loop.clock.now() - T0 == timedelta(minutes=3)
    assert final.state.analyses == 3
    assert "switch_requested" in loop.timeline()


def test_auto_promote_pauses_when_the_preview_gets_too_little_traffic() -> None:
    service = make_service(rollout=blue_green(auto_promote=True), analysis=ANALYSIS)
    loop = Loop(service, metrics=FakeMetrics())
    paused = loop.run()
    assert paused.state.phase is Phase.PREVIEW
    assert paused.state.pause is not None
    assert paused.state.pause.kind is PauseKind.INCONCLUSIVE
    assert loop.tick(promote()).state.phase is Phase.PROMOTED  # a human can still decide


def test_a_failing_preview_is_aborted_without_ever_getting_traffic() -> None:
    metrics = FakeMetrics()
    metrics.healthy("shop-r1")
    metrics.serve("shop-r2", [0.1] * 200, errors=100)
    service = make_service(rollout=blue_green(auto_promote=True), analysis=ANALYSIS)
    loop = Loop(service, metrics=metrics)
    aborted = loop.run()
    assert aborted.state.phase is Phase.ABORTED
    assert aborted.actions[0] == SetWeights({"shop-r1": 100, "shop-r2": 0})
    assert aborted.of_kind(ScaleDownAfter)[0].delay == timedelta(minutes=10)
    assert all(
        w.get("shop-r2", 0) == 0
        for w in (a.weights for a in loop.actions() if isinstance(a, SetWeights))
    )


def test_a_promote_survives_a_replica_briefly_not_warm() -> None:
    warm = {"n": 4}
    loop = Loop(make_service(rollout=blue_green()), warm=lambda state: warm["n"])
    loop.run()
    warm["n"] = 3
    asked = loop.tick(promote())
    assert asked.state.phase is Phase.PREVIEW
    assert asked.wait is not None
    assert asked.wait.reason.startswith("switch requested; waiting for 4 warm replica(s)")
    warm["n"] = 4
    assert loop.tick().state.phase is Phase.PROMOTED
