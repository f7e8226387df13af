"""Guardrails: whether a deploy or rollback may start at all.

Each check returns ``None`` (go ahead) or a :class:`Refusal` that says which guard refused, why,
and what to do — the message the CLI prints and the API returns. The executor runs them before
:func:`~roost.rollout.start_rollout` and starts nothing when one refuses, so a refused deploy
leaves no partial state behind.

* approval — required approvals, from allowed people, never from the requester (four eyes),
  before the request expires;
* freeze windows — one-off or cron-recurring, in the window's own time zone;
* one rollout per service and environment — from the active rollout record.

:class:`Refusal` is the base layer's (:mod:`roost._util.refusals`), shared with ``roost.slo``.
The control layer's guards (:mod:`roost.control.guards`) gather the inputs and run these rules
in one order; the deploy-lock and error-budget rules live with their data
(:class:`~roost.control.guards.locks.DeployLocks`, :func:`roost.slo.gating.budget_gate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from croniter import croniter

from roost._util.refusals import Refusal
from roost.spec.environments import Approval, FreezeWindow

if TYPE_CHECKING:
    # Only types here; importing roost.store at run time would pull in SQLAlchemy for nothing.
    from roost.store.records import RolloutRecord


@dataclass(frozen=True, slots=True)
class ApprovalGrant:
    """One person's approval of a deploy request, and when they gave it."""

    by: str
    at: datetime


IMPERSONATED = " (impersonated by "
"""How the API records an admin acting as someone else: ``bob (impersonated by alice)``."""


def _people(actor: str) -> set[str]:
    """Everyone behind an actor: the named person and, when impersonated, the admin acting."""
    named, sep, rest = actor.partition(IMPERSONATED)
    people = {named.strip().casefold()}
    if sep and rest.endswith(")"):
        people.add(rest[:-1].strip().casefold())
    return people


def _same_person(a: str, b: str) -> bool:
    # "Alice" approving a deploy requested by "alice" is still one pair of eyes, and so is an
    # admin approving, as someone else, a deploy they requested (or the other way round).
    return bool(_people(a) & _people(b))


def check_approver(approval: Approval, *, requested_by: str, approver: str) -> Refusal | None:
    """Whether ``approver`` may approve a deploy that ``requested_by`` asked for."""
    if approval.four_eyes and _same_person(approver, requested_by):
        return Refusal(
            "approval",
            f"{approver} requested this deploy and cannot also approve it (four eyes)",
            "ask someone else to run `roost approve`",
        )
    if approval.approvers and not any(_same_person(approver, a) for a in approval.approvers):
        return Refusal(
            "approval",
            f"{approver} is not allowed to approve deploys here",
            f"approvers are: {', '.join(approval.approvers)}",
        )
    return None


def check_approval(
    approval: Approval,
    *,
    requested_by: str,
    requested_at: datetime,
    grants: Sequence[ApprovalGrant],
    now: datetime,
) -> Refusal | None:
    """Whether the approvals given so far let the deploy start at ``now``.

    Counted: distinct people allowed by :func:`check_approver`, whose approval came before the
    request expired. A refusal says how many are missing, or that the request expired.
    """
    if not approval.required:
        return None
    expires = None if approval.expires_after is None else requested_at + approval.expires_after
    counted: list[str] = []
    for grant in grants:
        if expires is not None and grant.at >= expires:
            continue
        if check_approver(approval, requested_by=requested_by, approver=grant.by) is not None:
            continue
        if not any(_same_person(grant.by, seen) for seen in counted):
            counted.append(grant.by)
    if len(counted) >= approval.min_approvals:
        return None
    if expires is not None and now >= expires:
        return Refusal(
            "approval",
            f"the approval request expired at {expires.isoformat()} with "
            f"{len(counted)} of {approval.min_approvals} approvals",
            "request the deploy again",
        )
    have = f" ({', '.join(counted)})" if counted else ""
    return Refusal(
        "approval",
        f"needs {approval.min_approvals} approval(s) from someone other than {requested_by}, "
        f"has {len(counted)}{have}",
        "ask an approver to run `roost approve`",
    )


@dataclass(frozen=True, slots=True)
class Freeze:
    """A freeze window that is in force, with this occurrence's start and end (UTC)."""

    window: FreezeWindow
    start: datetime
    end: datetime


def freeze_occurrence(window: FreezeWindow, *, now: datetime) -> Freeze | None:
    """The occurrence of ``window`` in force at ``now``, if any.

    Recurring windows fire on ``cron`` in the window's time zone, so ``0 16 * * FRI`` is 16:00
    local in winter and in summer. ``duration`` is wall-clock time in that zone: a 64h freeze
    from Friday 16:00 ends Monday 08:00 local even when the clocks change during the weekend.
    A firing time that does not exist locally (skipped by a spring-forward change) starts right
    after the gap; one that exists twice (fall-back) starts at its first occurrence.
    """
    now = now.astimezone(UTC)  # compare instants, never wall times of one zone
    if window.start is not None and window.end is not None:
        if window.start <= now < window.end:
            return Freeze(window, window.start.astimezone(UTC), window.end.astimezone(UTC))
        return None
    if window.cron is None or window.duration is None:
        return None  # validation rules this out
    zone = ZoneInfo(window.timezone)
    local = now.astimezone(zone).replace(tzinfo=None)
    # croniter's previous firing is strictly before its base; firings are whole minutes, so
    # basing it on the next minute includes a firing at exactly ``now``'s minute.
    firings = croniter(window.cron, local.replace(second=0, microsecond=0) + timedelta(minutes=1))
    for _ in range(3):  # at most one step back, when a fall-back hour makes local time ambiguous
        fired: datetime = firings.get_prev(datetime)
        # Through UTC and back: a firing time skipped by a spring-forward change becomes the
        # real instant after the gap, so the wall-clock end below is counted from there.
        start = fired.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
        if start <= now:
            break
    else:  # pragma: no cover - a firing at or before now always exists
        return None
    # Aware + timedelta with a ZoneInfo is wall-clock arithmetic: the local end time, whatever
    # the offset is by then.
    end = start + window.duration
    if now < end:
        return Freeze(window, start.astimezone(UTC), end.astimezone(UTC))
    return None


def check_freeze(
    windows: Sequence[FreezeWindow], *, environment: str, now: datetime, rollback: bool = False
) -> Refusal | None:
    """Whether a freeze window of ``environment`` refuses a deploy (or a ``rollback``) now.

    Rollbacks pass windows with ``allow_rollback`` (the default): a freeze must never keep a
    broken release in production.
    """
    for window in windows:
        if rollback and window.allow_rollback:
            continue
        freeze = freeze_occurrence(window, now=now)
        if freeze is None:
            continue
        what = "rollbacks" if rollback else "deploys"
        why = f" ({window.reason})" if window.reason else ""
        local_end = freeze.end.astimezone(ZoneInfo(window.timezone))
        return Refusal(
            "freeze",
            f"{what} to {environment} are frozen by {window.name!r}{why} until "
            f"{local_end:%Y-%m-%d %H:%M} {window.timezone}",
            "wait for the window to end"
            + ("" if rollback else ", or roll back instead if something is broken"),
        )
    return None


def check_one_rollout(
    active: RolloutRecord | None, *, service: str, environment: str
) -> Refusal | None:
    """Refuse a second rollout while ``active`` (the service's active rollout in
    ``environment``, or ``None``) has not ended."""
    if active is None or not active.active:
        return None
    if active.service != service or active.environment != environment:
        return None
    return Refusal(
        "one_rollout",
        f"{service} already has a rollout in progress in {environment}: {active.id} "
        f"({active.state}, step {active.step}, to {active.to_release}, started "
        f"{active.created_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC)",
        f"wait for it to finish, or `roost rollout abort {active.id}`",
    )
