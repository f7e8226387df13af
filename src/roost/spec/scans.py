"""Vulnerability scan policy: a severity threshold per environment, waivers per project."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from roost.spec._base import SpecModel
from roost.spec.fields import moment

Rating = Literal["low", "medium", "high", "critical"]


class EnvironmentScan(SpecModel):
    """What a release's vulnerability scan must show before it may be deployed here."""

    fail_on: Rating | None = Field(
        default=None,
        description="Refuse deploys with an unwaived finding of this severity or worse "
        "(low, medium, high, critical); null: scan results do not gate this environment.",
    )
    unknown: Literal["fail", "warn", "ignore"] = Field(
        default="fail",
        description="What an unwaived finding of unknown severity (no CVSS score or rating, "
        "in its advisory or in the database's records of its aliases) does where fail_on is "
        "set: fail (default: a missing score is no evidence that a bug is harmless), warn "
        "(listed, does not block) or ignore.",
    )


class ScanIgnore(SpecModel):
    """A waiver: a finding that does not block deploys until ``expires``."""

    id: str = Field(
        min_length=1, description="Advisory id or any alias of it (GHSA-…, PYSEC-…, CVE-…)."
    )
    package: str | None = Field(
        default=None, description="Only for this package (default: wherever it is found)."
    )
    reason: str = Field(min_length=1, description="Why it is acceptable for now (audited).")
    expires: datetime = Field(
        description="When the waiver stops (a date means 00:00 UTC): then the finding blocks "
        "again, and the refusal says the rule expired."
    )

    @field_validator("expires", mode="before")
    @classmethod
    def _moment(cls, value: Any) -> Any:
        return moment(value, zone=UTC, hint="use ISO 8601, e.g. 2027-03-31")


class ProjectScan(SpecModel):
    """Project-wide scan settings."""

    ignore: list[ScanIgnore] = Field(
        default_factory=list, description="Waivers, each with a reason and an expiry."
    )
