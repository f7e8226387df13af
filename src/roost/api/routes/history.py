"""Read-only views of the state store: releases, rollouts (with timelines), events, leases.

Writes arrive with the capabilities that own them (rollouts, leases); until then the API only
reads, so nothing here needs a fencing token.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from roost.api.inputs import IdPath, ReleasePath
from roost.api.routes._deps import Reader, ScopedReader, WorkspaceDep
from roost.secrets import withhold_in_cloudevent, withhold_plain
from roost.store import NotFound
from roost.store.records import LeaseRecord, ReleaseRecord, RolloutRecord, TimelineEntry

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many, newest first.")]


class RolloutDetail(BaseModel):
    rollout: RolloutRecord
    timeline: list[TimelineEntry]


@router.get("/releases", tags=["releases"])
def list_releases(
    ws: WorkspaceDep, _: Reader, service: str | None = None, limit: Limit = 50
) -> list[ReleaseRecord]:
    """Releases, newest first, optionally for one service."""
    return [_shown(r) for r in ws.store.releases.list(service, limit=limit)]


@router.get("/releases/{release_id}", tags=["releases"], responses={404: {}})
def get_release(ws: WorkspaceDep, _: Reader, release_id: ReleasePath) -> ReleaseRecord:
    """One release: artifact, config snapshot, secret versions and schema range."""
    try:
        return _shown(ws.store.releases.find(release_id))
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


def _shown(release: ReleaseRecord) -> ReleaseRecord:
    """A release as the API shows it: pinned secrets by version and keyed digest only."""
    return dataclasses.replace(release, secrets=withhold_plain(release.secrets))


@router.get("/rollouts", tags=["rollouts"])
def list_rollouts(
    ws: WorkspaceDep,
    _: Reader,
    service: str | None = None,
    environment: str | None = None,
    active: bool = False,
    limit: Limit = 100,
) -> list[RolloutRecord]:
    """Rollouts, newest first; ``active=true`` keeps only those still in progress."""
    return ws.store.rollouts.list(service, environment, active_only=active, limit=limit)


@router.get("/rollouts/{rollout_id}", tags=["rollouts"], responses={404: {}})
def get_rollout(ws: WorkspaceDep, _: ScopedReader, rollout_id: IdPath) -> RolloutDetail:
    """One rollout with its whole timeline (oldest first)."""
    try:
        rollout = ws.store.rollouts.find(rollout_id)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return RolloutDetail(rollout=rollout, timeline=ws.store.rollouts.timeline(rollout.id))


@router.get("/events", tags=["events"])
def list_events(
    ws: WorkspaceDep,
    _: Reader,
    type: Annotated[str | None, Query(description="Keep types starting with this.")] = None,
    subject: str | None = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    """The audit log as CloudEvents 1.0 JSON envelopes, newest first."""
    found = ws.store.events.list(type, subject=subject, limit=limit)
    return [withhold_in_cloudevent(e.to_cloudevent()) for e in found]


@router.get("/leases", tags=["leases"])
def list_leases(ws: WorkspaceDep, _: Reader) -> list[LeaseRecord]:
    """Every lease: holder, duration, renew time, transitions and fencing token."""
    return ws.store.leases.list()
