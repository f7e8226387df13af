"""The one shape of a guard's "no": which guard, why, and what to do.

Base layer, so that the domains that decide (``roost.rollout``, ``roost.slo``) and the control
layer that gathers their inputs return the same type without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Refusal:
    """A guard said no: ``guard`` names it (approval, freeze, one_rollout, deploy_lock,
    error_budget, scan, ...), ``message`` says why, ``hint`` what to do."""

    guard: str
    message: str
    hint: str

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})"
