"""Guard: promotion between environments. An environment with ``promote_from: X`` accepts only
a release that is (or was last) promoted in X and has been healthy there for at least its
``soak_time`` — checked in the store (X's rollouts), never assumed. The refusal names the
release, where it stands in X and how long is left; ``--force REASON`` lets it through as an
override, audited as ``dev.roost.promotion.forced``.

"Healthy in X" is "X's last promoted rollout is this release's, and nothing replaced it
since": a rollout of it that was aborted, or a later release promoted over it, no longer counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from roost._util import event_catalog as events
from roost._util.refusals import Refusal
from roost.control.guards.context import DeployContext, Override
from roost.store import RolloutRecord

PROMOTED = "promoted"
FORCED_EVENT = events.PROMOTION_FORCED


def last_promoted(ctx: DeployContext, environment: str) -> RolloutRecord | None:
    """The service's last promoted rollout in ``environment`` (what runs there), if any."""
    for record in ctx.ws.store.rollouts.list(ctx.service.name, environment, limit=200):
        if record.state == PROMOTED:
            return record
    return None


def _span(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds() + 0.999))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _where(ctx: DeployContext, source: str, release: str) -> str:
    """Where ``release`` stands in ``source``, for a refusal."""
    records = ctx.ws.store.rollouts.list(ctx.service.name, source, limit=200)
    mine = next((r for r in records if r.to_release == release), None)
    if mine is None:
        return f"{release} never ran in {source}"
    if mine.active:
        return f"{release} is still rolling out in {source} ({mine.state}, rollout {mine.id})"
    return f"{release} is {mine.state} in {source} (rollout {mine.id})"


class Promotion:
    name = "promotion"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        source = ctx.env.promote_from
        if source is None or ctx.rollback:
            return None
        release = ctx.release.id if ctx.release is not None else None
        refusal = self._refusal(ctx, source, release)
        if refusal is None:
            return None
        reason = ctx.overrides.get(self.name)
        if reason is None:
            return refusal
        if not reason.strip():
            return Refusal("override_reason", "--force needs a reason", 'e.g. --force "hotfix"')
        return Override(
            self.name,
            FORCED_EVENT,
            source=events.SOURCE_CONTROL,
            subject=f"{ctx.service.name}/{ctx.environment}",
            data={
                "reason": reason,
                "release": release,
                "promote_from": source,
                "refused": refusal.message,
            },
        )

    def _refusal(self, ctx: DeployContext, source: str, release: str | None) -> Refusal | None:
        to = f"{ctx.environment} takes releases from {source}"
        hint = (
            f"deploy it to {source} first, or `roost promote RELEASE --to {ctx.environment}` "
            f"with what {source} runs; --force REASON overrides (audited)"
        )
        if release is None:
            return Refusal(self.name, f"{to}: a new release has never run in {source}", hint)
        last = last_promoted(ctx, source)
        if last is None or last.to_release != release:
            runs = "" if last is None else f"; {source} runs {last.to_release}"
            return Refusal(self.name, f"{to}: {_where(ctx, source, release)}{runs}", hint)
        since: datetime = last.ended_at or last.updated_at
        left = since + ctx.env.soak_time - ctx.now
        if left > timedelta(0):
            return Refusal(
                self.name,
                f"{to}: {release} was promoted in {source} {_span(ctx.now - since)} ago and "
                f"soaks for {_span(ctx.env.soak_time)}: {_span(left)} left",
                f"wait {_span(left)} and deploy again; --force REASON overrides (audited)",
            )
        return None
