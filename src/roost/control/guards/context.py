"""What every deploy guard reads — one :class:`DeployContext`, gathered once — and the runner
that asks the guards in order.

The runner stops at the first :class:`~roost._util.refusals.Refusal` with nothing written. A
guard that was overridden (``--override-budget``, ``--override-scan``) answers an
:class:`Override`: the audit event to write, which the deploy writes only once every guard has
passed and the release is ready (:func:`audit`), so a deploy refused by a later guard leaves no
"overridden" event behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from roost._util.refusals import Refusal
from roost.spec import Environment, Service
from roost.store import Fence, ReleaseRecord

if TYPE_CHECKING:
    from roost.control.guards.locks import DeployLocks
    from roost.control.workspace import Workspace
    from roost.slo import SloReport


def _nothing_runs() -> str | None:
    return None


def _no_reports() -> Sequence[SloReport]:
    return ()


@dataclass(frozen=True)
class DeployContext:
    """A deploy (or rollback) request and what the guards need to judge it, read once.

    ``release`` is the existing release asked for (None: a new one cut from roost.yaml);
    ``overrides`` maps a guard's name to the reason given for overriding it (as typed: a guard
    refuses a blank one). What needs the agent or the SLO loop is read on first use, so a
    deploy refused by a freeze window never needs an agent.
    """

    ws: Workspace
    service: Service
    environment: str
    env: Environment
    actor: str
    now: datetime
    rollback: bool = False
    release: ReleaseRecord | None = None
    approve: bool = False
    overrides: Mapping[str, str] = field(default_factory=dict)
    leading: Refusal | None = None
    deploy_locks: DeployLocks | None = None
    read_stable: Callable[[], str | None] = _nothing_runs
    read_slo_reports: Callable[[], Sequence[SloReport]] = _no_reports

    @cached_property
    def stable(self) -> str | None:
        """The revision with most of the service's traffic now (asks the agent once)."""
        return self.read_stable()

    @cached_property
    def slo_reports(self) -> Sequence[SloReport]:
        """The SLO loop's latest reports (or an evaluation now), read once."""
        return self.read_slo_reports()

    @property
    def what(self) -> str:
        """The release as a refusal names it."""
        return self.release.id if self.release is not None else f"the new {self.service.name}"


@dataclass(frozen=True)
class Override:
    """A guard that would have refused, overridden with a reason: the audit event to write once
    the deploy goes ahead."""

    guard: str
    type: str
    source: str
    subject: str
    data: Mapping[str, Any]


class Guard(Protocol):
    """One check in front of a deploy: ``None`` (go ahead), a refusal, or an override to audit.
    Guards only gather inputs from the context; the rules are the domains' pure functions."""

    name: str

    def check(self, ctx: DeployContext) -> Refusal | Override | None: ...


def check_all(guards: Sequence[Guard], ctx: DeployContext) -> Refusal | tuple[Override, ...]:
    """Ask ``guards`` in order: the first refusal, or every override (nothing is written)."""
    overrides: list[Override] = []
    for guard in guards:
        answer = guard.check(ctx)
        if isinstance(answer, Refusal):
            return answer
        if answer is not None:
            overrides.append(answer)
    return tuple(overrides)


def audit(ws: Workspace, overrides: Sequence[Override], *, actor: str, fence: Fence | None) -> None:
    """Write the audit events of the overrides of a deploy that goes ahead."""
    for override in overrides:
        ws.store.events.append(
            override.type,
            source=override.source,
            subject=override.subject,
            data=dict(override.data),
            actor=actor,
            fence=fence,
        )
