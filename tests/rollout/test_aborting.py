import json
from datetime import timedelta

import pytest
from tests.rollout._fakes import ANALYSIS, T0, FakeMetrics, Loop, make_service

from roost.rollout import (
    Abort,
    Decision,
    Phase,
    RecordTimeline,
    ScaleCanary,
    ScaleDownAfter,
    SetWeights,
    mark_traffic_reverted,
    plan_abort,
    restore_actions,
    start_rollout,
)

ROLLOUT = {
    "strategy": "canary",
    "steps": [{"set_weight": 20}, {"pause": "10m"}],
    "abort_scale_down_delay": "2m",
}


def faulty_loop() -> Loop:
    """Healthy for 3 minutes, then the canary starts failing 20% of requests."""
    metrics = FakeMetrics()
    metrics.healthy("shop-r1")
    metrics.healthy("shop-r2", seed=2)
    loop = Loop(make_service(rollout=ROLLOUT, analysis=ANALYSIS), metrics=metrics)
    loop.run(until=T0 + timedelta(minutes=3))
    metrics.serve("shop-r2", [0.1] * 300, errors=60)
    return loop


def test_abort_moves_all_traffic_to_stable_first_in_one_update() -> None:
    loop = faulty_loop()
    aborted = loop.run()
    assert aborted.state.phase is Phase.ABORTED

    first, *rest = aborted.actions
    assert first == SetWeights({"shop-r1": 100, "shop-r2": 0})
    assert not any(isinstance(a, SetWeights) for a in rest)  # exactly one router update
    assert not any(isinstance(a, ScaleCanary) for a in aborted.actions)
    kinds = [type(a) for a in rest]
    assert kinds.index(ScaleDownAfter) > kinds.index(RecordTimeline)
    assert isinstance(rest[-1], Abort)
    (scale_down,) = aborted.of_kind(ScaleDownAfter)
    assert scale_down.revision == "shop-r2"
    assert scale_down.delay == timedelta(minutes=2)
    assert scale_down.not_before == loop.clock.now() + timedelta(minutes=2)
    # The failing verdict's timeline line is still there, after the revert.
    entries = [a.entry for a in aborted.of_kind(RecordTimeline)]
    assert entries == ["analysis", "aborted"]
    assert aborted.state.weights == {"shop-r1": 100, "shop-r2": 0}
    assert aborted.wait is None


def test_abort_records_fault_began_detected_and_reverted_separately() -> None:
    loop = faulty_loop()
    aborted = loop.run()
    record = aborted.state.abort
    assert record is not None
    # The first failing window is minute 3-4; the second failure at minute 5 is detection.
    assert record.fault_began_at == T0 + timedelta(minutes=3)
    assert record.detected_at == T0 + timedelta(minutes=5)
    assert record.traffic_reverted_at is None  # the executor fills it in
    (line,) = [a for a in aborted.of_kind(RecordTimeline) if a.entry == "aborted"]
    assert line.detail["fault_began_at"] == (T0 + timedelta(minutes=3)).isoformat()
    assert line.detail["detected_at"] == (T0 + timedelta(minutes=5)).isoformat()

    reverted_at = record.detected_at + timedelta(milliseconds=20)
    stamped = mark_traffic_reverted(aborted.state, at=reverted_at)
    assert stamped.state.abort is not None
    assert stamped.state.abort.traffic_reverted_at == reverted_at
    (timeline,) = stamped.actions
    assert isinstance(timeline, RecordTimeline)
    assert timeline.entry == "traffic_reverted"
    assert timeline.detail["revert_seconds"] == pytest.approx(0.02)
    assert timeline.detail["detection_seconds"] == 120
    assert timeline.detail["fault_to_revert_seconds"] == pytest.approx(120.02)
    json.dumps(stamped.to_dict())  # the timeline detail is JSON-able
    # Stamping twice changes nothing.
    assert mark_traffic_reverted(stamped.state, at=reverted_at + timedelta(seconds=5)) == Decision(
        stamped.state
    )


def test_a_pass_between_failures_restarts_the_fault_clock() -> None:
    metrics = FakeMetrics()
    metrics.healthy("shop-r1")
    bad = ([0.1] * 300, 60)
    loop = Loop(make_service(rollout=ROLLOUT, analysis=ANALYSIS), metrics=metrics)
    for minute, healthy in enumerate([True, False, True, False, False], start=1):
        if healthy:
            metrics.healthy("shop-r2", seed=minute)
        else:
            metrics.serve("shop-r2", bad[0], errors=bad[1])
        loop.run(until=T0 + timedelta(minutes=minute))
    assert loop.state.phase is Phase.ABORTED
    assert loop.state.abort is not None
    assert loop.state.abort.fault_began_at == T0 + timedelta(minutes=3)


def test_mark_traffic_reverted_needs_an_aborted_rollout() -> None:
    loop = Loop(make_service(rollout=ROLLOUT))
    with pytest.raises(ValueError, match="not aborted"):
        mark_traffic_reverted(loop.state, at=T0)


def test_a_first_deploy_has_no_stable_to_go_back_to() -> None:
    service = make_service(rollout=ROLLOUT)
    first = start_rollout(service, environment="production", canary="shop-r1", stable=None, now=T0)
    aborted = plan_abort(first.state, service, reason="broken", by="alice", now=T0)
    assert not aborted.of_kind(SetWeights)
    assert aborted.of_kind(ScaleDownAfter)[0].revision == "shop-r1"
    assert isinstance(aborted.actions[-1], Abort)


def test_aborting_an_ended_rollout_changes_nothing() -> None:
    loop = faulty_loop()
    ended = loop.run().state
    again = plan_abort(ended, loop.service, reason="twice", by="bob", now=loop.clock.now())
    assert again == Decision(ended)


def test_restore_after_a_crash_reapplies_the_revert_and_the_pending_scale_down() -> None:
    loop = faulty_loop()
    state = loop.run().state
    restarted_at = loop.clock.now() + timedelta(seconds=30)
    restore = restore_actions(state, now=restarted_at)
    assert restore == (
        SetWeights({"shop-r1": 100, "shop-r2": 0}),
        ScaleDownAfter("shop-r2", timedelta(seconds=90), loop.clock.now() + timedelta(minutes=2)),
    )
