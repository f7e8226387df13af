from datetime import UTC, datetime, timedelta

from tests.rollout._fakes import T0

from roost.rollout import (
    ApprovalGrant,
    check_approval,
    check_approver,
    check_freeze,
    check_one_rollout,
    freeze_occurrence,
)
from roost.spec import Approval, FreezeWindow
from roost.store.records import RolloutRecord


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- approval ---------------------------------------------------------------------------------


def test_the_requester_cannot_approve_their_own_deploy() -> None:
    approval = Approval(required=True)
    refusal = check_approver(approval, requested_by="alice", approver="Alice")
    assert refusal is not None
    assert refusal.guard == "approval"
    assert refusal.message == "Alice requested this deploy and cannot also approve it (four eyes)"
    assert check_approver(approval, requested_by="alice", approver="bob") is None
    assert check_approver(Approval(four_eyes=False), requested_by="a", approver="a") is None


def test_only_listed_approvers_count() -> None:
    approval = Approval(required=True, approvers=["bob", "carol"])
    refusal = check_approver(approval, requested_by="alice", approver="mallory")
    assert refusal is not None
    assert "not allowed" in refusal.message
    assert "bob, carol" in refusal.hint


def test_approvals_are_counted_per_distinct_allowed_person() -> None:
    approval = Approval(required=True, min_approvals=2)

    def check(*names: str) -> str | None:
        grants = [ApprovalGrant(name, T0 + timedelta(minutes=1)) for name in names]
        refusal = check_approval(
            approval,
            requested_by="alice",
            requested_at=T0,
            grants=grants,
            now=T0 + timedelta(minutes=2),
        )
        return None if refusal is None else refusal.message

    assert check() == "needs 2 approval(s) from someone other than alice, has 0"
    assert check("alice", "bob", "BOB") == (
        "needs 2 approval(s) from someone other than alice, has 1 (bob)"
    )
    assert check("bob", "carol") is None
    assert check_approval(Approval(), requested_by="a", requested_at=T0, grants=[], now=T0) is None


def test_an_approval_request_expires() -> None:
    approval = Approval(required=True, expires_after=timedelta(hours=1))
    late = [ApprovalGrant("bob", T0 + timedelta(hours=2))]
    refusal = check_approval(
        approval, requested_by="alice", requested_at=T0, grants=late, now=T0 + timedelta(hours=2)
    )
    assert refusal is not None
    assert refusal.message.startswith("the approval request expired")
    in_time = [ApprovalGrant("bob", T0 + timedelta(minutes=59))]
    assert (
        check_approval(
            approval,
            requested_by="alice",
            requested_at=T0,
            grants=in_time,
            now=T0 + timedelta(hours=5),
        )
        is None
    )


# --- freeze windows ---------------------------------------------------------------------------

WEEKEND = FreezeWindow.model_validate(
    {
        "name": "weekend",
        "reason": "nobody on call",
        "timezone": "Europe/Berlin",
        "cron": "0 16 * * FRI",
        "duration": "64h",
    }
)


def frozen(window: FreezeWindow, at: str) -> bool:
    return freeze_occurrence(window, now=utc(at)) is not None


def test_a_recurring_window_fires_at_local_time_in_winter_and_summer() -> None:
    # Winter (CET, UTC+1): Friday 16:00 local is 15:00 UTC.
    assert not frozen(WEEKEND, "2026-03-06T14:59:59")
    assert frozen(WEEKEND, "2026-03-06T15:00:00")
    # Summer (CEST, UTC+2): Friday 16:00 local is 14:00 UTC.
    assert not frozen(WEEKEND, "2026-04-03T13:59:59")
    assert frozen(WEEKEND, "2026-04-03T14:00:00")
    assert not frozen(WEEKEND, "2026-04-01T12:00:00")  # a Wednesday


def test_a_window_across_the_spring_dst_change_ends_at_local_wall_time() -> None:
    # Friday 27 March 16:00 CET; clocks go forward on Sunday 29 March. 64h later on the wall
    # clock is Monday 30 March 08:00 CEST = 06:00 UTC (not 07:00 UTC, which 64 elapsed hours
    # would give).
    occurrence = freeze_occurrence(WEEKEND, now=utc("2026-03-29T12:00:00"))
    assert occurrence is not None
    assert occurrence.start == utc("2026-03-27T15:00:00")
    assert occurrence.end == utc("2026-03-30T06:00:00")
    assert frozen(WEEKEND, "2026-03-30T05:59:59")
    assert not frozen(WEEKEND, "2026-03-30T06:00:00")


def test_a_window_across_the_autumn_dst_change() -> None:
    window = FreezeWindow.model_validate(
        {"name": "night", "timezone": "Europe/Berlin", "cron": "0 0 * * SUN", "duration": "6h"}
    )
    # Sunday 25 October 00:00 CEST = Saturday 22:00 UTC; 06:00 CET = 05:00 UTC (7 real hours).
    occurrence = freeze_occurrence(window, now=utc("2026-10-25T04:30:00"))
    assert occurrence is not None
    assert occurrence.start == utc("2026-10-24T22:00:00")
    assert occurrence.end == utc("2026-10-25T05:00:00")


def test_a_firing_time_skipped_by_dst_starts_after_the_gap() -> None:
    window = FreezeWindow.model_validate(
        {"name": "batch", "timezone": "Europe/Berlin", "cron": "30 2 * * *", "duration": "1h"}
    )
    # 02:30 does not exist on 29 March: the window runs 03:30-04:30 CEST (01:30-02:30 UTC).
    occurrence = freeze_occurrence(window, now=utc("2026-03-29T02:00:00"))
    assert occurrence is not None
    assert occurrence.start == utc("2026-03-29T01:30:00")
    assert occurrence.end == utc("2026-03-29T02:30:00")
    assert not frozen(window, "2026-03-29T01:29:00")


def test_a_one_off_window_in_its_time_zone() -> None:
    window = FreezeWindow.model_validate(
        {
            "name": "launch",
            "timezone": "Europe/Berlin",
            "start": "2026-12-23T18:00",
            "end": "2026-12-27",
        }
    )
    assert not frozen(window, "2026-12-23T16:59:59")
    assert frozen(window, "2026-12-23T17:00:00")
    assert not frozen(window, "2026-12-26T23:00:00")


def test_a_freeze_refuses_deploys_but_lets_rollbacks_through() -> None:
    at = utc("2026-03-07T10:00:00")
    refusal = check_freeze([WEEKEND], environment="production", now=at)
    assert refusal is not None
    assert refusal.guard == "freeze"
    assert refusal.message == (
        "deploys to production are frozen by 'weekend' (nobody on call) until "
        "2026-03-09 08:00 Europe/Berlin"
    )
    assert "roll back" in refusal.hint
    assert check_freeze([WEEKEND], environment="production", now=at, rollback=True) is None
    strict = WEEKEND.model_copy(update={"allow_rollback": False})
    refused = check_freeze([strict], environment="production", now=at, rollback=True)
    assert refused is not None
    assert refused.message.startswith("rollbacks to production are frozen")
    assert check_freeze([WEEKEND], environment="production", now=utc("2026-03-10T10:00")) is None


# --- one rollout at a time --------------------------------------------------------------------


def rollout_record(*, ended: bool = False) -> RolloutRecord:
    return RolloutRecord(
        id="ro-1",
        service="shop",
        environment="production",
        from_release="shop-r1",
        to_release="shop-r2",
        strategy="canary",
        state="progressing",
        step=2,
        data={},
        version=7,
        created_at=T0,
        updated_at=T0,
        ended_at=T0 if ended else None,
    )


def test_a_second_rollout_is_refused_while_one_is_active() -> None:
    refusal = check_one_rollout(rollout_record(), service="shop", environment="production")
    assert refusal is not None
    assert refusal.message == (
        "shop already has a rollout in progress in production: ro-1 (progressing, step 2, to "
        "shop-r2, started 2026-03-02 10:00:00 UTC)"
    )
    assert refusal.hint == "wait for it to finish, or `roost rollout abort ro-1`"
    assert (
        check_one_rollout(rollout_record(ended=True), service="shop", environment="production")
        is None
    )
    assert check_one_rollout(None, service="shop", environment="production") is None
    assert check_one_rollout(rollout_record(), service="shop", environment="staging") is None
