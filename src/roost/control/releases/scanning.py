"""The vulnerability gate in front of deploys: a release whose scan has unwaived findings at or
above the environment's ``scan.fail_on`` is refused there.

The scan of a built release (``oci:<digest>``) is the one stored for its digest
(:mod:`roost.scan.results`); when there is none, or the vulnerability database was imported
after it was made, the artifact is scanned now and the result stored. A release cut from the
project folder (``dir:``) is scanned from that folder. The policy is judged at deploy time, so a
waiver that expired yesterday blocks today, and the refusal says so.

The guard itself (refuse, or an audited ``--override-scan REASON``) is
:class:`roost.control.guards.scan.ScanGate`.
"""

from __future__ import annotations

from pathlib import Path

from roost.control.errors import OperationError
from roost.control.workspace import Workspace
from roost.scan import (
    ScanResult,
    Verdict,
    VulnDBError,
    collect,
    describe_finding,
    load_result,
    open_vulndb,
    save_result,
    scan,
)
from roost.scan.policy import threshold_text
from roost.scan.subjects import artifact_subject
from roost.store import ReleaseRecord

OCI_PREFIX = "oci:"
DIR_PREFIX = "dir:"
_SHOWN = 3


def scan_release(ws: Workspace, release: ReleaseRecord | None, service: str) -> ScanResult:
    """The current scan of ``release`` (None: the release roost.yaml would cut now)."""
    try:
        with open_vulndb(ws.root) as db:
            if db.count() == 0:
                raise OperationError(
                    "no vulnerability database to check the release against",
                    status=409,
                    hint="`roost vulndb import PATH` or `roost vulndb sync`, then deploy again",
                )
            now = ws.clock.now()
            artifact = release.artifact if release is not None else ""
            if artifact.startswith(OCI_PREFIX):
                digest = artifact.removeprefix(OCI_PREFIX)
                stored = load_result(ws.root, digest)
                if stored is not None and stored.vulndb == db.stamp():
                    return stored
                subject = artifact_subject(digest, root=ws.root)
                result = scan(subject.inventory, db, now=now, digest=digest)
                save_result(ws.root, result)
                return result
            if artifact.startswith(DIR_PREFIX):
                folder = Path(artifact.removeprefix(DIR_PREFIX))
            else:
                resolved = ws.project.resolved_service(service)
                folder = (ws.root / (resolved.workdir or ".")).resolve()
            return scan(collect(folder, name=service), db, now=now)
    except VulnDBError as exc:
        raise OperationError(str(exc), status=409, hint=exc.hint) from None


def scan_built(ws: Workspace, digest: str) -> str | None:
    """Scan a freshly built artifact and store the result (the build's ``scan`` step); a line
    for the build's report, None when there is no database to scan against."""
    from roost.artifacts import ArtifactError

    try:
        with open_vulndb(ws.root) as db:
            if db.count() == 0:
                return None
            subject = artifact_subject(digest, root=ws.root)
            result = scan(subject.inventory, db, now=ws.clock.now(), digest=digest)
    except (VulnDBError, ArtifactError) as exc:
        return f"scan: not scanned ({exc})"
    save_result(ws.root, result)
    worst = result.findings[0].severity.rating if result.findings else None
    return f"scan: {len(result.findings)} vulnerabilities" + (
        f" (worst: {worst}; `roost scan {digest[:19]}`)" if worst else ""
    )


def refusal_message(what: str, env_name: str, verdict: Verdict) -> str:
    shown = []
    for finding in verdict.blocking[:_SHOWN]:
        text = describe_finding(finding)
        if finding.paths and len(finding.paths[0]) > 1:
            text += f" via {' → '.join(finding.paths[0])}"
        note = verdict.expired_note(finding)
        if note:
            text += f" [{note}]"
        shown.append(text)
    more = len(verdict.blocking) - len(shown)
    count = len(verdict.blocking)
    return (
        f"{what} has {count} unwaived vulnerabilit{'y' if count == 1 else 'ies'} "
        f"{threshold_text(verdict)}, which {env_name} refuses: "
        + "; ".join(shown)
        + (f"; and {more} more" if more > 0 else "")
    )
