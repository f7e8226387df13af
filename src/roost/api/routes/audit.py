"""The audit log's hash chain: its head, to anchor elsewhere, and a full check.

Record the head somewhere roost cannot write (a ticket, a commit, another system's log); later,
``roost audit verify --expect HEAD`` (or ``GET /api/v1/audit/verify?expect=HEAD``) proves that
every event up to it is still there, unedited and in order.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from roost.api.routes._deps import Reader, WorkspaceDep
from roost.store import GENESIS

router = APIRouter(tags=["audit"])

HashParam = Annotated[
    str | None,
    Query(
        pattern="^[0-9a-f]{64}$", description="A head recorded earlier: it must be in the chain."
    ),
]


@router.get("/audit/head")
def audit_head(ws: WorkspaceDep, _: Reader) -> dict[str, Any]:
    """The newest event's chain hash and how many events the log holds."""
    head, count = ws.store.events.head()
    return {"head": head, "events": count, "algorithm": "sha256", "genesis": GENESIS}


@router.get("/audit/verify")
def audit_verify(ws: WorkspaceDep, _: Reader, expect: HashParam = None) -> dict[str, Any]:
    """Check the whole chain; ``problem`` names the first edited, deleted or reordered event."""
    report = ws.store.events.verify(expect=expect)
    return report.summary()
