"""Rule export passes ``promtool check rules`` and ``promtool test rules`` (Debian prometheus)."""

import subprocess

import pytest
import yaml
from tests.slo._fixtures import latency_slo, ratio_slo
from tests.slo._servers import binary

from roost.slo import SloTarget
from roost.slo.rules import render_rules, rule_groups
from roost.spec.slos import Slo

TARGETS = [
    SloTarget("web", ratio_slo(99.9, "30d")),
    SloTarget("web", latency_slo("100ms")),
    SloTarget("api", latency_slo("400ms")),  # between buckets: interpolated
]


def test_rules_pass_promtool_check(tmp_path) -> None:
    promtool = binary("promtool", package="prometheus")
    path = tmp_path / "rules.yml"
    path.write_text(render_rules(TARGETS))
    out = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 39 rules found" in out.stdout


def test_rules_match_the_engine_tiers() -> None:
    rules = rule_groups(TARGETS[:1])["groups"][0]["rules"]
    alerts = [r for r in rules if "alert" in r]
    assert [a["labels"]["tier"] for a in alerts] == ["page-fast", "page-slow", "ticket"]
    assert "ratio_rate1h" in alerts[0]["expr"]
    assert "> 0.0144" in alerts[0]["expr"]
    assert "ratio_rate5m" in alerts[0]["expr"]


def test_probe_slos_have_no_rules() -> None:
    probe = Slo.model_validate(
        {"name": "p", "objective": 99, "window": "7d", "sli": {"kind": "probe"}}
    )
    with pytest.raises(ValueError, match="probe SLIs have no Prometheus metrics"):
        rule_groups([SloTarget("web", probe)])


def _alert(severity: str, tier: str, burn: str) -> dict[str, object]:
    return {
        "exp_labels": {
            "roost_service": "web",
            "roost_slo": "availability",
            "severity": severity,
            "tier": tier,
        },
        "exp_annotations": {
            "objective": "99.9% over 30d",
            "summary": f"web/availability is burning its error budget ({burn})",
        },
    }


@pytest.mark.slow
def test_a_full_outage_fires_the_page_tier_in_promtool(tmp_path) -> None:
    promtool = binary("promtool", package="prometheus")
    (tmp_path / "rules.yml").write_text(render_rules(TARGETS[:1]))
    # 10 req/s healthy for 6 h, then every request fails.
    healthy, down = 360, 30
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": 'roost_requests_total{service="web",code_class="2xx"}',
                        "values": f"0+600x{healthy} {600 * healthy}x{down}",
                    },
                    {
                        "series": 'roost_requests_total{service="web",code_class="5xx"}',
                        "values": f"0x{healthy} 0+600x{down}",
                    },
                ],
                "alert_rule_test": [
                    {
                        "eval_time": f"{healthy - 1}m",
                        "alertname": "RoostSloErrorBudgetBurn",
                        "exp_alerts": [],
                    },
                    # The workbook: 14.4x over 1h trips after ~52 s; at 1-minute resolution
                    # the next evaluation (2 minutes in, rate() needs two samples) fires.
                    {
                        "eval_time": f"{healthy + 2}m",
                        "alertname": "RoostSloErrorBudgetBurn",
                        "exp_alerts": [
                            _alert("page", "page-fast", "14.4x over 1h and 5m"),
                            # with 6 h of history, 3 d's ratio is 6 h's: over 1x too
                            _alert("ticket", "ticket", "1x over 3d and 6h"),
                        ],
                    },
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    out = subprocess.run(
        [promtool, "test", "rules", "test.yml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
