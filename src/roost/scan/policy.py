"""The scan policy: which findings block a deploy to an environment, and which are waived.

A pure function of the findings, the project's waivers, the environment's threshold and the
time: :func:`judge`. A waiver matches a finding by advisory id or any alias, and optionally by
package. A waiver past its expiry stops waiving — the finding counts again, and the verdict
says which rule expired when, so a refusal explains why yesterday's deploy passed and today's
does not. A finding of unknown severity (no score anywhere) follows the environment's explicit
``unknown`` rule — fail, warn or ignore — instead of being ranked as if its severity were known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from roost.scan.findings import Finding
from roost.scan.osv import normalize_name
from roost.scan.severity import rank
from roost.spec.scans import EnvironmentScan, ScanIgnore


@dataclass(frozen=True, slots=True)
class Waived:
    finding: Finding
    rule: ScanIgnore


@dataclass(frozen=True)
class Verdict:
    environment: str | None
    fail_on: str | None
    blocking: tuple[Finding, ...] = ()
    """Unwaived findings at or above ``fail_on``."""
    waived: tuple[Waived, ...] = ()
    expired: tuple[Waived, ...] = ()
    """Findings whose waiver has expired (they count again; also in blocking if severe)."""
    below: tuple[Finding, ...] = field(default=())
    """Unwaived findings under the threshold (or all of them without one)."""
    unknown_rule: str = "fail"
    """What unknown severity does here: fail, warn or ignore."""
    warned: tuple[Finding, ...] = field(default=())
    """Unwaived findings of unknown severity that do not block because the rule is ``warn``
    (also in ``below``)."""

    @property
    def passed(self) -> bool:
        return not self.blocking

    def expired_note(self, finding: Finding) -> str | None:
        for item in self.expired:
            if item.finding is finding:
                return f"ignore rule for {item.rule.id} expired {item.rule.expires.date()}"
        return None


def _matches(rule: ScanIgnore, finding: Finding) -> bool:
    wanted = rule.id.casefold()
    if not any(i.casefold() == wanted for i in finding.ids):
        return False
    return (
        rule.package is None or normalize_name(finding.ecosystem, rule.package) == finding.package
    )


def judge(
    findings: Sequence[Finding],
    *,
    rules: Sequence[ScanIgnore],
    settings: EnvironmentScan | None,
    now: datetime,
    environment: str | None = None,
) -> Verdict:
    """The verdict on ``findings`` for an environment with ``settings`` at ``now``."""
    fail_on = settings.fail_on if settings is not None else None
    unknown_rule = settings.unknown if settings is not None else "fail"
    blocking, waived, expired, below, warned = [], [], [], [], []
    for finding in findings:
        matching = [r for r in rules if _matches(r, finding)]
        live = [r for r in matching if r.expires > now]
        if live:
            waived.append(Waived(finding, max(live, key=lambda r: r.expires)))
            continue
        if matching:
            expired.append(Waived(finding, max(matching, key=lambda r: r.expires)))
        if fail_on is None:
            below.append(finding)
        elif finding.severity.rating == "unknown":
            if unknown_rule == "fail":
                blocking.append(finding)
            else:
                below.append(finding)
                if unknown_rule == "warn":
                    warned.append(finding)
        elif rank(finding.severity.rating) >= rank(fail_on):
            blocking.append(finding)
        else:
            below.append(finding)
    return Verdict(
        environment=environment,
        fail_on=fail_on,
        blocking=tuple(blocking),
        waived=tuple(waived),
        expired=tuple(expired),
        below=tuple(below),
        unknown_rule=unknown_rule,
        warned=tuple(warned),
    )


def threshold_text(verdict: Verdict) -> str:
    """``at or above high`` (``… or of unknown severity`` when such findings block)."""
    text = f"at or above {verdict.fail_on}"
    if any(f.severity.rating == "unknown" for f in verdict.blocking):
        text += " or of unknown severity (scan.unknown: fail)"
    return text


def warning_text(verdict: Verdict) -> str | None:
    """What ``unknown: warn`` lets through, in one line (None when nothing)."""
    if not verdict.warned:
        return None
    count = len(verdict.warned)
    ids = ", ".join(f.id for f in verdict.warned[:5]) + (", …" if count > 5 else "")
    return (
        f"{count} finding{'' if count == 1 else 's'} of unknown severity "
        f"{'does' if count == 1 else 'do'} not block {verdict.environment or 'here'} "
        f"(scan.unknown: warn): {ids}"
    )


def describe_finding(finding: Finding) -> str:
    """``GHSA-… urllib3 1.26.4 (high 7.5, fix 1.26.5)``: a finding in one phrase."""
    fix = f"fix {finding.fixed}" if finding.fixed else "no fix yet"
    return f"{finding.id} {finding.name} {finding.version} ({finding.severity.label}, {fix})"
