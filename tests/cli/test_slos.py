"""`roost slo …` and `roost alerts` without traffic: rules that promtool accepts, OpenSLO export
and import round-trips, silences, the API's SLO routes, and bad input as one line each."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import yaml
from tests._auth import owner_headers
from tests._roost import EXAMPLE, roost, serving
from tests.slo._servers import binary

REPO = EXAMPLE.parent.parent.parent
DATA = REPO / "tests" / "slo" / "data"

BROKEN = """\
project: broken
version: 1
environments:
  dev: {}
services:
  - name: web
    command: python3 -m http.server $PORT --bind 127.0.0.1
    slos:
      - name: availability
        objective: 99.9
        sli: {kind: ratio}
"""


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("roost: error: "), stderr
    return lines[0]


def test_rules_for_the_shop_pass_promtool(tmp_path: Path) -> None:
    out = tmp_path / "rules.yml"
    made = roost("slo", "rules", "-p", str(EXAMPLE), "-o", str(out))
    assert made.returncode == 0, made.stderr
    assert "web/reachable: probe SLIs are measured by roost itself" in made.stderr
    groups = yaml.safe_load(out.read_text())["groups"]
    names = [g["name"] for g in groups]
    assert "roost-slo-web-availability" in names
    assert "roost-slo-web-reachable" not in names
    # web/latency has its own page tier (3.36x over 1h and 5m) instead of the workbook's three.
    latency = next(g for g in groups if g["name"] == "roost-slo-web-latency")
    tiers = [r["labels"]["tier"] for r in latency["rules"] if "alert" in r]
    assert tiers == ["page-fast"]
    promtool = binary("promtool", package="prometheus")
    checked = subprocess.run(
        [promtool, "check", "rules", str(out)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_export_then_import_round_trips(tmp_path: Path) -> None:
    exported = roost("slo", "export", "web", "-p", str(EXAMPLE), "-o", str(tmp_path / "o.yaml"))
    assert exported.returncode == 0, exported.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all((tmp_path / "o.yaml").read_text())]
    assert kinds.count("Service") == 1
    assert "SLO" in kinds
    assert "AlertPolicy" in kinds
    imported = roost("slo", "import", str(tmp_path / "o.yaml"))
    assert imported.returncode == 0, imported.stderr
    (service,) = yaml.safe_load(imported.stdout)["services"]
    slos = {s["name"]: s for s in service["slos"]}
    assert slos["availability"]["objective"] == 99.9
    assert slos["availability"]["window"] == "28d"
    assert slos["latency"]["sli"] == {"kind": "latency", "threshold": "400ms"}
    # its own single tier, not the workbook's three
    assert slos["latency"]["alerts"] == [
        {
            "name": "page-fast",
            "severity": "page",
            "burn_rate": 3.36,
            "long_window": "1h",
            "short_window": "5m",
        }
    ]
    assert "alerts" not in slos["availability"]
    assert "merged" not in imported.stderr
    # OpenSLO's own example imports too, into a valid roost.yaml fragment.
    example = roost("slo", "import", str(DATA / "openslo-ratio.yaml"))
    assert example.returncode == 0, example.stderr
    assert yaml.safe_load(example.stdout)["services"]


def test_bad_openslo_and_unknown_service_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: openslo/v2\nkind: SLO\n")
    result = roost("slo", "import", str(bad))
    assert result.returncode == 2
    assert "is not supported (openslo/v1)" in _one_line(result.stderr)
    missing = roost("slo", "import", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert "cannot read" in _one_line(missing.stderr)
    unknown = roost("slo", "rules", "nosuch", "-p", str(EXAMPLE))
    assert unknown.returncode == 2
    assert "no service 'nosuch'" in _one_line(unknown.stderr)


def test_status_without_an_agent_and_with_a_bad_slo(tmp_path: Path) -> None:
    root = tmp_path / "broken"
    root.mkdir()
    (root / "roost.yaml").write_text(BROKEN)
    # No roost serve, no agent: evaluated here; every SLO says why, none raises.
    local = roost("slo", "status", "-p", str(root), env={"ROOST_API_URL": ""})
    assert local.returncode == 1
    assert "Traceback" not in local.stderr
    errors = local.stderr.strip().splitlines()
    assert len(errors) == 1, local.stderr
    assert "no agent is running" in local.stderr
    with serving(root) as served:
        auth = owner_headers(root)
        slos = httpx.get(f"{served.url}/api/v1/slos", headers=auth, timeout=10).json()["slos"]
        assert [s["slo"] for s in slos] == ["availability"]
        assert all(s["error"] for s in slos)
        one = httpx.get(f"{served.url}/api/v1/slos/web/availability", headers=auth, timeout=10)
        assert one.status_code == 200
        assert one.json()["objective"] == 99.9
        assert one.json()["window"] == "28d"
        nope = httpx.get(f"{served.url}/api/v1/slos/web/nope", headers=auth, timeout=10)
        assert nope.status_code == 404
        assert nope.json()["hint"] == "availability"
        other = httpx.get(f"{served.url}/api/v1/slos?service=db", headers=auth, timeout=10)
        assert other.status_code == 404
        alerts = httpx.get(f"{served.url}/api/v1/alerts", headers=auth, timeout=10).json()
        assert alerts["alerts"] == []
        assert len(alerts["errors"]) == 1
        cli = roost("slo", "status", "db", "-p", str(root))
        assert cli.returncode == 1
        assert "no service 'db'" in _one_line(cli.stderr)


def test_silence_and_expire(tmp_path: Path) -> None:
    root = tmp_path / "broken"
    root.mkdir()
    (root / "roost.yaml").write_text(BROKEN)
    made = roost(
        "alerts", "silence", "-m", "roost_service=web", "-m", "tier=page-fast",
        "--for", "2h", "--comment", "maintenance", "-p", str(root), "--as", "bob",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    silence_id = made.stdout.split()[1]
    saved = json.loads((root / ".roost" / "silences.json").read_text())["silences"]
    assert saved[0]["matchers"] == {"roost_service": "web", "tier": "page-fast"}
    assert saved[0]["created_by"] == "bob"
    listed = roost("alerts", "--json", "-p", str(root), env={"ROOST_API_URL": ""})
    assert [s["id"] for s in json.loads(listed.stdout)["silences"]] == [silence_id]
    bad = roost("alerts", "silence", "-m", "nonsense", "-p", str(root))
    assert bad.returncode == 2
    assert "is not label=value" in _one_line(bad.stderr)
    gone = roost("alerts", "expire", silence_id, "-p", str(root))
    assert gone.returncode == 0, gone.stderr
    again = roost("alerts", "expire", silence_id, "-p", str(root))
    assert again.returncode == 2
    assert "no silence" in _one_line(again.stderr)


def test_import_refuses_an_sli_only_file_and_reads_threshold_units(tmp_path: Path) -> None:
    sli_only = tmp_path / "sli.yaml"
    sli_only.write_text(
        "- apiVersion: openslo/v1\n  kind: SLI\n  metadata: {name: lat}\n"
        "  spec:\n    thresholdMetric:\n"
        "      metricSource: {type: Prometheus, spec: {query: p99}}\n"
    )
    result = roost("slo", "import", str(sli_only))
    assert result.returncode == 2, result.stdout
    assert "no SLO here (found 1 SLI (lat)); nothing to import" in _one_line(result.stderr)
    assert result.stdout == ""
    slo = tmp_path / "slo.yaml"
    slo.write_text(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: lat}\nspec:\n  service: web\n"
        "  indicator:\n    metadata: {name: lat}\n    spec:\n      thresholdMetric:\n"
        "        metricSource: {type: Prometheus, spec: {query: p99}}\n"
        "  timeWindow: [{duration: 1M, isRolling: true}]\n  budgetingMethod: Occurrences\n"
        "  objectives: [{op: lte, value: 500, target: 0.99}]\n  alertPolicies:\n"
    )
    refused = roost("slo", "import", str(slo))
    assert refused.returncode == 2
    assert "--threshold-unit s or ms" in _one_line(refused.stderr)
    read = roost("slo", "import", str(slo), "--threshold-unit", "ms")
    assert read.returncode == 0, read.stderr
    (service,) = yaml.safe_load(read.stdout)["services"]
    assert service["slos"][0]["sli"] == {"kind": "latency", "threshold": "500ms"}
    assert service["slos"][0]["window"] == "30d"
    assert "1M (1 month) is read as a rolling 30d window" in read.stderr
