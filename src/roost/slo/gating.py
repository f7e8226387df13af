"""Rollout gates from SLO reports: "is the page tier firing" and the error-budget guardrail.

roost.slo does not import roost.rollout (sibling domains meet through data); both return the
base layer's :class:`~roost._util.refusals.Refusal`.
An override is not a silent pass: :func:`budget_gate` returns an :class:`Override` that the
executor must record as an audit event (``store.events``) before deploying.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from roost._util import event_catalog as events
from roost._util.refusals import Refusal
from roost.slo.evaluating import SloReport

__all__ = ["OVERRIDE_EVENT", "Override", "Refusal", "budget_gate", "budget_left", "page_firing"]


@dataclass(frozen=True, slots=True)
class Override:
    """The gate would have refused, but ``by`` overrode it for ``reason``: audit it
    (event type :data:`OVERRIDE_EVENT`, data :meth:`to_event`)."""

    refusal: Refusal
    by: str
    reason: str

    def to_event(self) -> dict[str, str]:
        """The audit event's data."""
        return {
            "guard": self.refusal.guard,
            "refused": self.refusal.message,
            "by": self.by,
            "reason": self.reason,
        }


OVERRIDE_EVENT = events.BUDGET_OVERRIDDEN


def budget_left(reports: Iterable[SloReport], *, service: str) -> float | None:
    """The smallest budget remaining among ``service``'s SLOs; ``None`` when none is known
    (no SLO, no data, or every evaluation failed — unknown is not exhausted)."""
    values = [
        r.budget_remaining
        for r in reports
        if r.target.service == service and r.budget_remaining is not None and r.error is None
    ]
    return min(values) if values else None


def budget_gate(
    reports: Iterable[SloReport],
    *,
    service: str,
    environment: str,
    enabled: bool = True,
    rollback: bool = False,
    override_by: str | None = None,
    override_reason: str | None = None,
) -> Refusal | Override | None:
    """The environment guardrail: refuse deploys (never rollbacks) of ``service`` while an SLO's
    error budget is exhausted (≤ 0 left). With ``override_by`` and a non-empty
    ``override_reason`` the deploy may go ahead, as an :class:`Override` to audit; an override
    without a reason is refused (the reason is the point of the audit)."""
    reports = list(reports)
    if not enabled or rollback:
        return None
    spent = [
        r
        for r in reports
        if r.target.service == service
        and r.error is None
        and r.budget_remaining is not None
        and r.budget_remaining <= 0
    ]
    if not spent:
        return None
    worst = min(spent, key=lambda r: r.budget_remaining or 0.0)
    refusal = Refusal(
        "error_budget",
        f"{service}'s error budget in {environment} is spent: {worst.target.slo.name} has "
        f"{worst.budget_remaining:.1%} left",
        "fix reliability first, or roll back; or override with a reason (audited)",
    )
    if override_by is None:
        return refusal
    if not (override_reason or "").strip():
        return Refusal(
            "error_budget",
            refusal.message + "; an override needs a reason",
            "pass the reason for deploying anyway; it is recorded in the audit log",
        )
    return Override(refusal, override_by, (override_reason or "").strip())


def page_firing(reports: Iterable[SloReport], *, service: str) -> str | None:
    """The rollout analysis check "abort when the page tier fires during the canary": a
    one-line reason when a page tier of ``service`` fires, else ``None``."""
    for report in reports:
        if report.target.service != service or report.error is not None:
            continue
        for state in report.firing:
            if state.tier.severity == "page":
                return f"{report.target.key}: {state.tier.name} fires ({state.reason})"
    return None
