from datetime import timedelta

import pytest
from tests.rollout._fakes import ANALYSIS, T0, FakeMetrics, Loop, make_service

from roost.rollout import (
    Abort,
    CommandKind,
    HumanCommand,
    Observation,
    PauseForHuman,
    PauseKind,
    Phase,
    Promote,
    ScaleCanary,
    ScaleDownAfter,
    SetWeights,
    Strategy,
    analysis_due,
    decide,
    start_rollout,
)

STEPS = [
    {"set_weight": 25},
    {"pause": "2m"},
    {"analysis": {"duration": "3m"}},
    {"set_weight": 50},
    {"analysis": {"duration": "2m"}},
]


def canary(steps: list[dict[str, object]] | None = None, **fields: object) -> dict[str, object]:
    return {"strategy": "canary", "steps": steps or STEPS, **fields}


def healthy_metrics() -> FakeMetrics:
    metrics = FakeMetrics()
    metrics.healthy("shop-r1", seed=1)
    metrics.healthy("shop-r2", seed=2)
    return metrics


def command(kind: CommandKind, by: str = "alice") -> HumanCommand:
    return HumanCommand(kind, by=by)


def weights(loop: Loop) -> list[dict[str, int]]:
    return [a.weights for a in loop.actions() if isinstance(a, SetWeights)]


def test_promote_path_goes_through_every_step_then_100_percent() -> None:
    service = make_service(rollout=canary(abort_scale_down_delay="45s"), analysis=ANALYSIS)
    loop = Loop(service, metrics=healthy_metrics())
    final = loop.run()

    assert final.state.phase is Phase.PROMOTED
    assert weights(loop) == [
        {"shop-r1": 100, "shop-r2": 0},
        {"shop-r1": 75, "shop-r2": 25},
        {"shop-r1": 50, "shop-r2": 50},
        {"shop-r1": 0, "shop-r2": 100},
    ]
    # Replicas grow with the weight (4 in all): one for 25%, two for 50%, all for 100%.
    assert [a.replicas for a in loop.actions() if isinstance(a, ScaleCanary)] == [1, 2, 4]
    # The old stable goes last and only after the delay.
    promote_actions = final.actions
    assert isinstance(promote_actions[-1], Promote)
    assert promote_actions[-1].revision == "shop-r2"
    (scale_down,) = final.of_kind(ScaleDownAfter)
    assert scale_down.revision == "shop-r1"
    assert scale_down.delay == timedelta(seconds=45)
    assert scale_down.not_before == loop.clock.now() + timedelta(seconds=45)
    # 2m pause + 3m analysis + 2m analysis.
    assert loop.clock.now() - T0 == timedelta(minutes=7)
    assert final.state.ended_at == loop.clock.now()
    assert not final.of_kind(Abort)
    assert loop.timeline().count("step") == len(STEPS) + 1
    assert final.wait is None


def test_first_deploy_goes_straight_to_100_percent_once_warm() -> None:
    service = make_service(rollout=canary(), analysis=ANALYSIS)
    first = start_rollout(service, environment="production", canary="shop-r1", stable=None, now=T0)
    assert first.state.strategy is Strategy.DIRECT
    assert first.of_kind(ScaleCanary) == [ScaleCanary("shop-r1", 4)]
    assert not first.of_kind(SetWeights)  # nothing gets traffic before it is warm
    later = T0 + timedelta(seconds=20)
    done = decide(first.state, service, Observation(warm_replicas=4), now=later)
    assert done.of_kind(SetWeights) == [SetWeights({"shop-r1": 100})]
    assert done.of_kind(Promote) == [Promote("shop-r1")]
    assert not done.of_kind(ScaleDownAfter)
    assert done.state.phase is Phase.PROMOTED


@pytest.mark.parametrize(
    ("rollout", "fast"), [(None, False), (canary(), True)], ids=["no-strategy", "fast"]
)
def test_direct_replaces_all_at_once(rollout: object, fast: bool) -> None:
    service = make_service(rollout=rollout)
    loop = Loop(service, fast=fast)
    assert loop.state.strategy is Strategy.DIRECT
    final = loop.run()
    assert final.state.phase is Phase.PROMOTED
    assert weights(loop) == [{"shop-r1": 100, "shop-r2": 0}, {"shop-r1": 0, "shop-r2": 100}]


def test_inconclusive_analysis_extends_the_step_then_pauses_for_a_human() -> None:
    service = make_service(
        rollout=canary([{"set_weight": 10}, {"analysis": {"duration": "2m"}}]), analysis=ANALYSIS
    )
    metrics = FakeMetrics()
    metrics.healthy("shop-r1")
    metrics.serve("shop-r2", [0.1] * 20)  # too few requests (min_samples 50)
    loop = Loop(service, metrics=metrics)
    paused = loop.run()

    state = paused.state
    assert state.phase is Phase.PROGRESSING
    assert state.pause is not None
    assert state.pause.kind is PauseKind.INCONCLUSIVE
    assert state.consecutive_inconclusive == 3
    assert state.extensions == 2  # the 2m step ran for 3m before giving up
    assert loop.clock.now() - T0 == timedelta(minutes=3)
    (pause_action,) = paused.of_kind(PauseForHuman)
    assert "inconclusive 3 times in a row" in pause_action.reason
    assert "too few requests for error ratio: 20 over 1m, need 50" in pause_action.reason
    assert not any(isinstance(a, Abort) for a in loop.actions())  # never an instant fail
    assert not any(isinstance(a, Promote) for a in loop.actions())  # never a silent pass
    assert loop.timeline().count("analysis_extended") == 2

    # A human says "keep trying"; traffic picks up; the next verdict passes and the step ends.
    resumed = loop.tick(command(CommandKind.RESUME))
    assert resumed.state.pause is None
    assert resumed.state.consecutive_inconclusive == 0
    metrics.healthy("shop-r2", seed=5)
    assert loop.run().state.phase is Phase.PROMOTED


def test_promote_accepts_an_inconclusive_step() -> None:
    service = make_service(
        rollout=canary([{"set_weight": 10}, {"analysis": {"duration": "1m"}}]), analysis=ANALYSIS
    )
    metrics = FakeMetrics()
    loop = Loop(service, metrics=metrics)
    assert loop.run().state.pause is not None
    skipped = loop.tick(command(CommandKind.PROMOTE, by="bob"))
    assert skipped.state.pause is None
    assert skipped.state.target_weight == 100
    assert loop.run().state.phase is Phase.PROMOTED
    assert "step_skipped" in loop.timeline()


def test_one_noisy_failure_is_tolerated() -> None:
    service = make_service(rollout=canary(), analysis=ANALYSIS)
    metrics = healthy_metrics()
    loop = Loop(service, metrics=metrics)
    loop.run(until=T0 + timedelta(minutes=3))  # into the analysis step
    metrics.serve("shop-r2", [0.1] * 200, errors=20)  # one bad minute
    loop.run(until=loop.clock.now() + timedelta(minutes=1))
    assert loop.state.consecutive_failures == 1
    metrics.healthy("shop-r2", seed=9)
    final = loop.run()
    assert final.state.phase is Phase.PROMOTED
    assert not any(isinstance(a, Abort) for a in loop.actions())


def test_a_failing_verdict_at_the_end_of_an_analysis_step_extends_it() -> None:
    service = make_service(
        rollout=canary([{"set_weight": 10}, {"analysis": {"duration": "1m"}}]),
        analysis={**ANALYSIS, "consecutive_failure_limit": 3},
    )
    metrics = healthy_metrics()
    metrics.serve("shop-r2", [0.1] * 200, errors=20)
    loop = Loop(service, metrics=metrics)
    loop.run(until=T0 + timedelta(minutes=1))
    assert loop.state.step == 1
    assert loop.state.extensions == 1
    assert loop.decision.wait is not None
    assert loop.decision.wait.reason.startswith("analysis extended")
    metrics.healthy("shop-r2", seed=3)
    assert loop.run().state.phase is Phase.PROMOTED


def test_repeated_failures_abort_traffic_first() -> None:
    service = make_service(rollout=canary(), analysis=ANALYSIS)
    metrics = healthy_metrics()
    loop = Loop(service, metrics=metrics)
    loop.run(until=T0 + timedelta(minutes=3))
    metrics.serve("shop-r2", [0.1] * 200, errors=30)
    final = loop.run()
    assert final.state.phase is Phase.ABORTED
    assert final.actions[0] == SetWeights({"shop-r1": 100, "shop-r2": 0})
    assert isinstance(final.actions[-1], Abort)
    assert final.actions[-1].reason.startswith("analysis failed 2 times in a row: error ratio 15%")
    assert final.state.abort is not None
    assert final.state.abort.by == "analysis"


def test_background_analysis_aborts_during_a_pause_step() -> None:
    service = make_service(rollout=canary([{"set_weight": 20}, {"pause": "1h"}]), analysis=ANALYSIS)
    metrics = healthy_metrics()
    metrics.serve("shop-r2", [0.1] * 200, errors=50)
    loop = Loop(service, metrics=metrics)
    final = loop.run()
    assert final.state.phase is Phase.ABORTED
    assert loop.clock.now() - T0 == timedelta(minutes=2)  # not an hour


def test_inconclusive_background_analysis_does_not_hold_a_timed_pause() -> None:
    service = make_service(rollout=canary([{"set_weight": 5}, {"pause": "5m"}]), analysis=ANALYSIS)
    loop = Loop(service, metrics=FakeMetrics())  # no traffic data at all
    final = loop.run()
    assert final.state.phase is Phase.PROMOTED
    assert final.state.consecutive_inconclusive >= 3


def test_human_pause_holds_the_weight_and_resume_continues() -> None:
    service = make_service(rollout=canary(), analysis=ANALYSIS)
    loop = Loop(service, metrics=healthy_metrics())
    loop.run(until=T0 + timedelta(minutes=1))
    paused = loop.tick(command(CommandKind.PAUSE))
    assert paused.state.pause is not None
    assert paused.state.pause.kind is PauseKind.HUMAN
    assert paused.state.pause.by == "alice"
    held = loop.state.weights
    # Time passes, analysis keeps running, nothing moves.
    for _ in range(10):
        loop.clock.advance(60)
        loop.tick()
    assert loop.state.weights == held
    assert loop.state.step == paused.state.step
    assert loop.state.analyses >= 10
    again = loop.tick(command(CommandKind.PAUSE))
    assert "command_ignored" in [a.entry for a in again.actions if hasattr(a, "entry")]
    loop.tick(command(CommandKind.RESUME))
    assert loop.run().state.phase is Phase.PROMOTED


def test_promote_full_skips_the_remaining_steps() -> None:
    service = make_service(rollout=canary(), analysis=ANALYSIS)
    loop = Loop(service, metrics=healthy_metrics())
    loop.run(until=T0 + timedelta(seconds=30))
    final = loop.tick(command(CommandKind.PROMOTE_FULL))
    if not final.state.ended:  # waiting for the replicas the full weight needs
        final = loop.run()
    assert final.state.phase is Phase.PROMOTED
    assert loop.clock.now() - T0 < timedelta(minutes=1)


def test_a_human_abort_reverts_traffic_at_once() -> None:
    service = make_service(rollout=canary(), analysis=ANALYSIS)
    loop = Loop(service, metrics=healthy_metrics())
    loop.run(until=T0 + timedelta(minutes=4))
    aborted = loop.tick(HumanCommand(CommandKind.ABORT, by="carol", reason="wrong config"))
    assert aborted.actions[0] == SetWeights({"shop-r1": 100, "shop-r2": 0})
    assert aborted.state.abort is not None
    assert aborted.state.abort.reason == "aborted by carol: wrong config"
    assert aborted.state.abort.fault_began_at is None
    late = loop.tick(command(CommandKind.PROMOTE))
    assert late.state == aborted.state
    assert [a.entry for a in late.actions if hasattr(a, "entry")] == ["command_ignored"]


def test_hold_step_waits_for_promote() -> None:
    service = make_service(rollout=canary([{"set_weight": 30}, {"pause": {}}, {"set_weight": 60}]))
    loop = Loop(service)
    held = loop.run()
    assert held.state.pause is not None
    assert held.state.pause.kind is PauseKind.HOLD
    assert held.wait is not None
    assert held.wait.until is None  # no analysis: nothing to wake up for
    loop.clock.advance(3600)
    assert loop.tick().state.step == 1
    loop.tick(command(CommandKind.RESUME))  # resume moves past a hold step, like promote
    assert loop.run().state.phase is Phase.PROMOTED
    assert {"shop-r1": 40, "shop-r2": 60} in weights(loop)


def test_no_traffic_before_the_new_replicas_are_warm() -> None:
    service = make_service(rollout=canary([{"set_weight": 50}]), warmup={"requests": 10})
    warm = {"n": 0}
    loop = Loop(service, warm=lambda state: warm["n"])
    for _ in range(5):
        loop.clock.advance(30)
        loop.tick()
        assert loop.state.canary_weight == 0
    assert loop.decision.wait is not None
    assert loop.decision.wait.reason == "waiting for 2 warm replica(s) of shop-r2 (0 so far)"
    warm["n"] = 2
    assert loop.tick().state.canary_weight == 50


def test_a_revision_that_never_warms_aborts_after_the_deadline() -> None:
    service = make_service(
        rollout=canary([{"set_weight": 50}]), warmup={"requests": 10, "max_duration": "2m"}
    )
    loop = Loop(service, warm=lambda state: 0)
    final = loop.run()
    assert final.state.phase is Phase.ABORTED
    assert loop.clock.now() - T0 == timedelta(minutes=12)
    assert final.state.abort is not None
    assert final.state.abort.reason == (
        "new revision not ready: 0/2 replicas ready and warm after 12m"
    )


def test_a_failed_warm_up_reported_by_the_executor_aborts() -> None:
    service = make_service(rollout=canary([{"set_weight": 50}]))
    first = start_rollout(
        service, environment="production", canary="shop-r2", stable="shop-r1", now=T0
    )
    failed = decide(
        first.state,
        service,
        Observation(failure="shop-r2-0 not warm after 2m; on_timeout: fail"),
        now=T0 + timedelta(minutes=2),
    )
    assert failed.state.phase is Phase.ABORTED
    assert failed.actions[0] == SetWeights({"shop-r1": 100, "shop-r2": 0})
    assert failed.state.abort is not None
    assert failed.state.abort.by == "runtime"


def test_an_slo_page_on_the_canary_aborts_reported_as_the_slo_not_the_runtime() -> None:
    service = make_service(rollout=canary([{"set_weight": 50}]))
    first = start_rollout(
        service, environment="production", canary="shop-r2", stable="shop-r1", now=T0
    )
    page = "SLO page alert on the canary's traffic: shop/availability: page-fast fires"
    paged = decide(
        first.state,
        service,
        Observation(failure=page, failure_by="slo"),
        now=T0 + timedelta(minutes=1),
    )
    assert paged.state.phase is Phase.ABORTED
    assert paged.actions[0] == SetWeights({"shop-r1": 100, "shop-r2": 0})
    assert paged.state.abort is not None
    assert paged.state.abort.by == "slo"
    assert paged.state.abort.reason == page
    assert "new revision failed" not in paged.state.abort.reason


def test_slow_start_ramps_the_weight_before_the_step_completes() -> None:
    service = make_service(
        rollout=canary([{"set_weight": 40}, {"pause": "1m"}]),
        warmup={"requests": 10, "slow_start": "40s"},
    )
    loop = Loop(service)
    loop.run()
    ramp = [w["shop-r2"] for w in weights(loop)]
    assert ramp[:3] == [0, 1, 2]  # one percent a second
    assert ramp[-1] == 100
    assert ramp[-2] == 40
    assert ramp == sorted(ramp)
    # The 1m pause starts once 40% is reached: 40 s ramp + 60 s pause.
    assert loop.clock.now() - T0 == timedelta(seconds=100)


def test_lower_weights_scale_the_canary_down_after_the_traffic_moves() -> None:
    service = make_service(rollout=canary([{"set_weight": 100}, {"set_weight": 25}, {"pause": {}}]))
    loop = Loop(service)
    held = loop.run()
    assert held.state.canary_weight == 25
    down = next(d for d in loop.decisions if d.of_kind(SetWeights) and d.state.canary_weight == 25)
    kinds = [type(a).__name__ for a in down.actions if not hasattr(a, "entry")]
    assert kinds.index("SetWeights") < kinds.index("ScaleCanary")
    assert down.of_kind(ScaleCanary) == [ScaleCanary("shop-r2", 1)]


def test_analysis_due_uses_the_steps_checks_and_a_fresh_window() -> None:
    service = make_service(
        rollout=canary(
            [
                {"set_weight": 20},
                {
                    "analysis": {
                        "duration": "2m",
                        "checks": [{"metric": "latency_p99", "max": "1s"}],
                    }
                },
            ]
        ),
        analysis=ANALYSIS,
    )
    loop = Loop(service, metrics=healthy_metrics())
    loop.tick()  # warm: 20% and the analysis step entered in the same decision
    now = loop.clock.now()
    assert analysis_due(loop.state, service, now=now) is None  # a full interval first
    later = now + timedelta(minutes=1)
    request = analysis_due(loop.state, service, now=later)
    assert request is not None
    assert request.step == 1
    assert [c.metric for c in request.analysis.checks] == ["latency_p99"]
    assert request.window == timedelta(minutes=1)
    assert (request.canary, request.stable) == ("shop-r2", "shop-r1")


def test_stale_or_replayed_verdicts_are_ignored() -> None:
    service = make_service(rollout=canary(), analysis=ANALYSIS)
    metrics = healthy_metrics()
    metrics.serve("shop-r2", [0.1] * 200, errors=50)
    loop = Loop(service, metrics=metrics)
    loop.run(until=T0 + timedelta(minutes=1))
    assert loop.state.consecutive_failures == 1
    verdict = loop.state.last_verdict
    assert verdict is not None
    # The executor crashed and feeds the same verdict again: it must not count twice.
    replay = decide(
        loop.state, service, Observation(verdict=verdict, warm_replicas=1), now=loop.clock.now()
    )
    assert replay.state.consecutive_failures == 1
    assert replay.state.phase is Phase.PROGRESSING


def test_a_spec_for_another_service_is_refused() -> None:
    service = make_service(rollout=canary())
    loop = Loop(service)
    other = service.model_copy(update={"name": "cart"})
    with pytest.raises(ValueError, match="cart"):
        decide(loop.state, other, now=T0)
