"""Guard: the vulnerability gate. A release whose scan has unwaived findings at or above the
environment's ``scan.fail_on`` is refused there (:mod:`roost.control.releases.scanning` finds
or makes the scan, :func:`roost.scan.judge` decides); ``--override-scan REASON`` lets it through
as an override, audited as ``dev.roost.scan.overridden`` with the findings it overrode. Rollbacks
never reach this gate: going back must not wait for a scan.
"""

from __future__ import annotations

from roost._util import event_catalog as events
from roost._util.refusals import Refusal
from roost.control.errors import OperationError
from roost.control.guards.context import DeployContext, Override
from roost.control.releases.scanning import refusal_message, scan_release
from roost.scan import ScanResult, judge


class ScanGate:
    name = "scan"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        settings = ctx.env.scan
        if settings.fail_on is None:
            return None
        reason = ctx.overrides.get(self.name)
        if reason is not None and not reason.strip():
            return Refusal("override_reason", "--override-scan needs a reason", "")
        result: ScanResult | None
        try:
            result = scan_release(ctx.ws, ctx.release, ctx.service.name)
        except OperationError as exc:
            if reason is None:
                return Refusal(self.name, str(exc), exc.hint or "")
            result = None  # a gate that cannot check is overridden like one that refuses
        verdict = (
            None
            if result is None
            else judge(
                result.findings,
                rules=ctx.ws.project.scan.ignore,
                settings=settings,
                now=ctx.now,
                environment=ctx.environment,
            )
        )
        if verdict is not None and verdict.passed:
            return None
        if reason is not None:
            return Override(
                self.name,
                events.SCAN_OVERRIDDEN,
                source=events.SOURCE_CONTROL,
                subject=f"{ctx.service.name}/{ctx.environment}",
                data={
                    "reason": reason,
                    "release": ctx.release.id if ctx.release is not None else None,
                    "fail_on": settings.fail_on,
                    "findings": [f.to_dict() for f in verdict.blocking] if verdict else [],
                    "scanned": result is not None,
                },
            )
        assert verdict is not None  # no result without an override returned above
        what = ctx.release.id if ctx.release is not None else f"the new {ctx.service.name} release"
        first = verdict.blocking[0]
        return Refusal(
            self.name,
            refusal_message(what, ctx.environment, verdict),
            f"{first.advice}; or waive it in roost.yaml (scan.ignore: id, reason, expires), or "
            "deploy with --override-scan REASON (audited); `roost scan` shows every path",
        )
