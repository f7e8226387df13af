"""What a rollout record holds besides the rollout's own state: the request behind it.

``RolloutRecord.data`` is ``RolloutState.to_dict()`` (which is what a restarted control plane
resumes from) plus one more key, ``"executor"``: who asked, for which environment, how (deploy
or rollback, fast or not), the approvals so far, an audited override, and what the rollout is
waiting for. A rollout that waits for approval has no rollout state yet, only the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from roost.rollout import ApprovalGrant, RolloutState
from roost.store import RolloutRecord

EXECUTOR_KEY = "executor"

AWAITING_APPROVAL = "awaiting_approval"
"""Record state of a deploy that waits for ``roost approve``; it holds the rollout slot."""
CANCELLED = "cancelled"
"""Record state of a deploy aborted while it waited for approval (nothing ever ran)."""
EXPIRED = "expired"
"""Record state of a deploy whose approval request expired."""
PAUSED = "paused"
"""Record state of a rollout that waits for a human (the phase is in the data)."""


@dataclass(frozen=True, slots=True)
class DeployRequest:
    """Who asked for a rollout, where and how; kept with the rollout for its whole life."""

    kind: str
    """``deploy`` or ``rollback``."""
    environment: str
    requested_by: str
    requested_at: datetime
    fast: bool = False
    approvals: tuple[ApprovalGrant, ...] = ()
    override: str | None = None
    """A refusal that ``--force`` overrode, and by whom (audited)."""
    waiting: str | None = None
    """What the rollout waits for now, for the live view."""
    error: str | None = None
    """The last error the executor met applying this rollout (agent down, ...), if any."""
    extra: dict[str, Any] = field(default_factory=dict)

    def with_changes(self, **changes: Any) -> DeployRequest:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "environment": self.environment,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at.isoformat(),
            "fast": self.fast,
            "approvals": [{"by": g.by, "at": g.at.isoformat()} for g in self.approvals],
            "override": self.override,
            "waiting": self.waiting,
            "error": self.error,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeployRequest:
        return cls(
            kind=str(data.get("kind", "deploy")),
            environment=str(data["environment"]),
            requested_by=str(data["requested_by"]),
            requested_at=datetime.fromisoformat(str(data["requested_at"])),
            fast=bool(data.get("fast", False)),
            approvals=tuple(
                ApprovalGrant(str(g["by"]), datetime.fromisoformat(str(g["at"])))
                for g in data.get("approvals") or []
            ),
            override=data.get("override"),
            waiting=data.get("waiting"),
            error=data.get("error"),
            extra=dict(data.get("extra") or {}),
        )


def record_data(state: RolloutState | None, request: DeployRequest) -> dict[str, Any]:
    """``RolloutRecord.data`` for ``state`` (None: not started yet) and its request."""
    data = {} if state is None else state.to_dict()
    data[EXECUTOR_KEY] = request.to_dict()
    return data


def load_state(record: RolloutRecord) -> RolloutState | None:
    """The rollout state stored in ``record`` (None while it waits for approval)."""
    if "format" not in record.data:
        return None
    return RolloutState.from_dict(record.data)


def load_request(record: RolloutRecord) -> DeployRequest:
    """The request stored in ``record`` (records written without one get a stand-in)."""
    data = record.data.get(EXECUTOR_KEY)
    if isinstance(data, Mapping):
        return DeployRequest.from_dict(data)
    return DeployRequest(
        kind="deploy",
        environment=record.environment,
        requested_by="roost",
        requested_at=record.created_at,
    )


def record_state(state: RolloutState) -> str:
    """The record's ``state`` column for a rollout state: its phase, or ``paused``."""
    if not state.ended and state.pause is not None:
        return PAUSED
    return state.phase.value
