"""Done when: a vulnerable transitive dependency in an example service's artifact is reported
with its full path and fix, blocks the production deploy, and is waived by an expiring rule.

Real processes end to end: `roost build` packs examples/vulnerable (its vendored
site-packages carries urllib3 1.26.4 under boto3 and requests) into an OCI artifact and a
release, `roost scan` reports it, and `roost deploy` against a running `roost up` is refused
in production until a waiver with a future expiry is added; with a past expiry the rule
stops waiving and the refusal says so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests._canary import running
from tests._roost import REPO, roost
from tests.scan.conftest import OSV, VULNERABLE

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
WAIVER = """
scan:
  ignore:
    - id: CVE-2021-33503
      package: urllib3
      reason: urllib3 only talks to our own endpoints
      expires: {expires}
"""


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "vulnerable"
    shutil.copytree(VULNERABLE, root, ignore=shutil.ignore_patterns(".roost"))
    (root / ".gitignore").write_text(".roost/\n")
    env = {**os.environ, **GIT_ENV, "HOME": str(tmp_path)}
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", "v1")):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return root


@pytest.mark.timeout(360)
def test_transitive_finding_blocks_production_until_waived(tmp_path: Path) -> None:
    root = _project(tmp_path)
    p = ("--project", str(root))
    imported = roost("vulndb", "import", str(OSV), *p)
    assert imported.returncode == 0, imported.stderr
    assert "12 new" in imported.stdout

    built = roost("build", "web", *p, timeout=120, env={"HOME": str(tmp_path), **GIT_ENV})
    assert built.returncode == 0, built.stdout + built.stderr
    assert "scan: 3 vulnerabilities (worst: high" in built.stdout  # the build's scan step
    release, digest = re.search(
        r"release (\S+) \(oci:(sha256:[0-9a-f]{64})\)", built.stdout
    ).groups()  # type: ignore[union-attr]

    # The report: every path from a top-level requirement, and the pin that fixes it.
    report = roost("scan", digest, *p, "--format", "json")
    assert report.returncode == 0, report.stderr
    findings = {f["id"]: f for f in json.loads(report.stdout)["findings"]}
    redos = findings["GHSA-q2q7-5pp4-w6pg"]
    assert (redos["name"], redos["version"], redos["fixed"]) == ("urllib3", "1.26.4", "1.26.5")
    assert redos["paths"] == [
        ["requests", "urllib3"],
        ["boto3", "botocore", "urllib3"],
        ["boto3", "s3transfer", "botocore", "urllib3"],
    ]
    assert redos["advice"] == (
        "pin urllib3>=1.26.5 (allowed by the declared requirements of botocore 1.29.0, "
        "requests 2.31.0; metadata only, not a test that they work with it)"
    )
    assert (root / ".roost" / "scans" / f"sha256-{digest[7:]}.json").is_file()
    gated = roost("scan", digest, *p, "--env", "production", "--format", "sarif")
    assert gated.returncode == 1
    assert json.loads(gated.stdout)["runs"][0]["results"][0]["ruleId"] == "GHSA-q2q7-5pp4-w6pg"
    sbom = roost("sbom", digest, *p, "-o", str(tmp_path / "sbom.json"))
    assert sbom.returncode == 0, sbom.stderr
    assert "pkg:pypi/urllib3@1.26.4" in (tmp_path / "sbom.json").read_text()

    spec = (root / "roost.yaml").read_text()
    deploy = ("deploy", "web", "--release", release, "--env", "production", *p, "--detach")
    with running(root):
        refused = roost(*deploy, "--as", "alice", timeout=60)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "Traceback" not in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert (
            f"{release} has 1 unwaived vulnerability at or above high, which production "
            "refuses: GHSA-q2q7-5pp4-w6pg urllib3 1.26.4 (high 7.5, fix 1.26.5) via "
            "requests → urllib3" in refused.stderr
        )
        assert "pin urllib3>=1.26.5" in refused.stderr
        assert "--override-scan REASON" in refused.stderr

        (root / "roost.yaml").write_text(spec + WAIVER.format(expires="2020-01-31"))
        expired = roost(*deploy, "--as", "alice", timeout=60)
        assert expired.returncode == 1, expired.stdout
        assert "[ignore rule for CVE-2021-33503 expired 2020-01-31]" in expired.stderr

        (root / "roost.yaml").write_text(spec + WAIVER.format(expires="2099-12-31"))
        waived = roost(*deploy, "--as", "alice", timeout=90)
        assert waived.returncode == 0, waived.stdout + waived.stderr
        assert f"→ {release}" in waived.stdout
        assert "production" in waived.stdout


def test_the_gate_skips_environments_without_a_threshold_and_audits_overrides(
    tmp_path: Path,
) -> None:
    from roost.clock import RealClock
    from roost.control.guards import DeployContext, Override, audit
    from roost.control.guards.scan import ScanGate
    from roost.control.workspace import open_workspace
    from roost.scan import open_vulndb

    def check_scan(ws, *, env_name, env, override, service, release, actor, fence):  # type: ignore[no-untyped-def]
        # The guard as the deploy runs it: an override is audited once every guard passed.
        ctx = DeployContext(
            ws=ws,
            service=ws.project.service(service),
            environment=env_name,
            env=env,
            actor=actor,
            now=ws.clock.now(),
            release=release,
            overrides={} if override is None else {"scan": override},
        )
        answer = ScanGate().check(ctx)
        if isinstance(answer, Override):
            audit(ws, [answer], actor=actor, fence=fence)
            return None
        return answer

    root = tmp_path / "vulnerable"
    shutil.copytree(VULNERABLE, root)
    with open_workspace(root, clock=RealClock()) as ws:
        production = ws.project.environments["production"]
        dev = ws.project.environments["dev"]
        args = {"service": "web", "release": None, "actor": "alice", "fence": None}
        # No database: refused (a gate that cannot check does not pass), unless overridden.
        refusal = check_scan(ws, env_name="production", env=production, override=None, **args)
        assert refusal is not None
        assert "no vulnerability database" in refusal.message
        assert check_scan(ws, env_name="dev", env=dev, override=None, **args) is None
        with open_vulndb(root) as db:
            db.import_path(OSV, now=ws.clock.now())
        # dir: releases are scanned from the service's folder (the vendored site-packages).
        found = check_scan(ws, env_name="production", env=production, override=None, **args)
        assert found is not None
        assert found.guard == "scan"
        assert "GHSA-q2q7-5pp4-w6pg" in found.message
        assert (
            check_scan(ws, env_name="production", env=production, override="hotfix", **args) is None
        )
        (event,) = [e for e in ws.store.events.list() if e.type == "dev.roost.scan.overridden"]
        assert event.actor == "alice"
        assert event.data["reason"] == "hotfix"
        assert [f["id"] for f in event.data["findings"]] == ["GHSA-q2q7-5pp4-w6pg"]
    assert REPO.is_dir()
