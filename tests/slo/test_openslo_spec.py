"""OpenSLO v1 constructs from the specification that roost used to refuse or misread: optional
fields present with a null value, rolling 1M/1Q/1Y windows, a file written as a YAML list of
objects, thresholdMetric values with units, SLI-only files; and exports checked against the
specification's rules (duration shorthand, required fields, one condition per policy), with
every example project's SLOs surviving export → import exactly.

The documents are written here from the specification's text, not copied from anywhere."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from roost.control.slos.reports import project_targets
from roost.slo.openslo import OpenSloError, export_openslo, import_openslo
from roost.spec import LatencySli, load_project

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ALL_EXAMPLES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "roost.yaml").is_file())


def _exportable(example: str) -> list[Any]:
    return [
        t
        for t in project_targets(load_project(EXAMPLES / example / "roost.yaml"))
        if t.slo.sli.kind != "probe"  # roost measures probes itself; OpenSLO has no such SLI
    ]


WITH_SLOS = [e for e in ALL_EXAMPLES if _exportable(e)]

SERVICE = """\
apiVersion: openslo/v1
kind: Service
metadata:
  name: checkout
  displayName:
spec:
  description:
"""

SLI = """\
apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-errors
spec:
  description:
  ratioMetric:
    counter: true
    good:
    bad:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{job="checkout",code=~"5.."}[1m]))
    total:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{job="checkout"}[1m]))
"""


def _slo(window: str = "28d", *, extra: str = "  alertPolicies:\n") -> str:
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
  labels:
spec:
  description:
  service: checkout
  indicatorRef: checkout-errors
  timeWindow:
    - duration: {window}
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName:
      target: 0.995
{extra}"""


def _latency(query: str, value: str) -> str:
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-latency
spec:
  service: checkout
  indicator:
    metadata:
      name: checkout-latency
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: '{query}'
  timeWindow:
    - duration: 7d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - op: lte
      value: {value}
      target: 0.99
"""


def test_null_optional_fields_are_absent() -> None:
    # `alertPolicies:`, `description:`, `labels:`, `displayName:` and `good:` with no value.
    got = import_openslo("---\n".join([SERVICE, SLI, _slo()]), source="slos.yaml")
    (target,) = got.slos
    assert target.service == "checkout"
    assert target.slo.name == "checkout-availability"
    assert target.slo.objective == pytest.approx(99.5)
    assert target.slo.description is None
    assert target.slo.alerts is None
    assert got.services == {"checkout": None}


def test_a_required_field_left_empty_is_named() -> None:
    text = "---\n".join([SLI, _slo().replace("service: checkout", "service:")])
    with pytest.raises(OpenSloError, match=r"spec\.service: Field required"):
        import_openslo(text, source="slos.yaml")


@pytest.mark.parametrize(
    ("window", "days", "note"),
    [
        ("1M", 30, "1M (1 month) is read as a rolling 30d window"),
        ("1Q", 90, "1Q (1 quarter) is read as a rolling 90d window"),
        ("1Y", 365, "1Y (1 year) is read as a rolling 365d window"),
        ("2M", 60, "2M (2 months) is read as a rolling 60d window"),
        ("4w", 28, None),
        ("28d", 28, None),
    ],
)
def test_rolling_calendar_unit_windows(window: str, days: int, note: str | None) -> None:
    got = import_openslo("---\n".join([SLI, _slo(window)]))
    (target,) = got.slos
    assert target.slo.window == timedelta(days=days)
    notes = [w for w in got.warnings if "rolling" in w]
    assert notes == ([f"<openslo>: SLO checkout-availability: {note}"] if note else [])


def test_minutes_and_months_are_case_sensitive() -> None:
    got = import_openslo("---\n".join([SLI, _slo("43200m")]))
    assert got.slos[0].slo.window == timedelta(days=30)


def test_a_file_may_be_a_list_of_objects() -> None:
    objects = [yaml.safe_load(doc) for doc in (SERVICE, SLI, _slo())]
    got = import_openslo(yaml.safe_dump(objects))
    assert [t.slo.name for t in got.slos] == ["checkout-availability"]
    # and a list next to a plain document, in one file
    mixed = yaml.safe_dump(objects[:2]) + "---\n" + _slo()
    assert [t.slo.name for t in import_openslo(mixed).slos] == ["checkout-availability"]


def test_a_list_of_non_objects_is_refused() -> None:
    with pytest.raises(OpenSloError, match="object 2: expected a mapping"):
        import_openslo(yaml.safe_dump([yaml.safe_load(SLI), "nope"]), source="x.yaml")


@pytest.mark.parametrize(
    ("query", "value", "unit", "threshold"),
    [
        ("histogram_quantile(0.99, rate(http_latency_milliseconds_bucket[5m]))", "500", None, 500),
        (
            "histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[5m]))",
            "0.5",
            None,
            500,
        ),
        ("p99_latency_ms", "250", None, 250),
        ("p99_latency", "500", "ms", 500),
        ("p99_latency", "2", "s", 2000),
    ],
)
def test_threshold_values_are_read_in_their_unit(
    query: str, value: str, unit: Any, threshold: int
) -> None:
    (target,) = import_openslo(_latency(query, value), unit=unit).slos
    assert isinstance(target.slo.sli, LatencySli)
    assert target.slo.sli.threshold == timedelta(milliseconds=threshold)


def test_a_threshold_without_a_unit_is_refused() -> None:
    with pytest.raises(OpenSloError, match=r"value 500 has no unit .*--threshold-unit s or ms"):
        import_openslo(_latency("p99_latency", "500"), source="lat.yaml")
    with pytest.raises(OpenSloError, match="the metric is in ms but --threshold-unit says s"):
        import_openslo(_latency("p99_latency_milliseconds", "500"), unit="s")


def test_an_sli_only_file_is_refused_with_what_it_holds() -> None:
    with pytest.raises(OpenSloError) as info:
        import_openslo("---\n".join([SERVICE, SLI]), source="slis.yaml")
    assert str(info.value) == (
        "slis.yaml: no SLO here (found 1 Service (checkout), 1 SLI (checkout-errors)); "
        "nothing to import"
    )


def test_each_slo_gets_the_conditions_of_its_own_policies() -> None:
    policy = """\
apiVersion: openslo/v1
kind: AlertPolicy
metadata:
  name: fast
spec:
  alertWhenBreaching: true
  conditions:
    - kind: AlertCondition
      metadata:
        name: burning
      spec:
        severity: page
        condition:
          kind: burnrate
          threshold: 14.4
          lookbackWindow: 1h
          alertAfter: 5m
  notificationTargets:
    - targetRef: mail
"""
    with_policy = _slo(extra="  alertPolicies:\n    - alertPolicyRef: fast\n")
    without = _slo().replace("checkout-availability", "checkout-other")
    got = import_openslo("---\n".join([SLI, policy, with_policy, without]))
    own, other = got.slos
    assert own.slo.alerts is not None
    ((name, severity, burn, long, short),) = [
        (a.name, a.severity, a.burn_rate, a.long_window, a.short_window) for a in own.slo.alerts
    ]
    # 14.4x over 1h on a 30-day SLO is 2% of the budget in an hour: 13.44x for 28 days.
    assert (name, severity, long, short) == (
        "burning",
        "page",
        timedelta(hours=1),
        timedelta(minutes=5),
    )
    assert burn == pytest.approx(13.44)
    assert other.slo.alerts is None
    assert any("alertAfter 5m is not kept" in w for w in got.warnings)


_SHORTHAND = re.compile(r"[1-9][0-9]*[mhdwMQY]")


def _durations(doc: dict[str, Any]) -> list[str]:
    spec = doc["spec"]
    if doc["kind"] == "SLO":
        return [w["duration"] for w in spec["timeWindow"]]
    if doc["kind"] == "AlertCondition":
        cond = spec["condition"]
        return [cond[k] for k in ("lookbackWindow", "alertAfter") if k in cond]
    return []


@pytest.mark.parametrize("example", ALL_EXAMPLES)
def test_export_follows_the_specification(example: str) -> None:
    targets = project_targets(load_project(EXAMPLES / example / "roost.yaml"))
    docs = list(yaml.safe_load_all(export_openslo(targets)))
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert len(names) == len(docs), "every object's name is unique within its kind"
    for doc in docs:
        assert doc["apiVersion"] == "openslo/v1"
        for duration in _durations(doc):
            assert _SHORTHAND.fullmatch(duration), (doc["metadata"]["name"], duration)
        if doc["kind"] == "AlertCondition":
            assert {"severity", "condition"} <= doc["spec"].keys()
            assert {"kind", "threshold", "lookbackWindow"} <= doc["spec"]["condition"].keys()
        if doc["kind"] == "AlertPolicy":
            # "conditions[]: an array (max of one condition)"; notificationTargets is required
            (ref,) = doc["spec"]["conditions"]
            assert ("AlertCondition", ref["conditionRef"]) in names
            for target in doc["spec"]["notificationTargets"]:
                assert ("AlertNotificationTarget", target["targetRef"]) in names
        if doc["kind"] == "SLO":
            assert {"service", "indicatorRef", "budgetingMethod", "objectives"} <= doc[
                "spec"
            ].keys()
            for ref in doc["spec"]["alertPolicies"]:
                assert ("AlertPolicy", ref["alertPolicyRef"]) in names


def test_the_shop_example_has_slos_to_round_trip() -> None:
    assert "shop" in WITH_SLOS


@pytest.mark.parametrize("example", WITH_SLOS)
def test_every_example_round_trips_exactly(example: str) -> None:
    targets = _exportable(example)
    again = import_openslo(export_openslo(targets)).slos
    assert [(t.service, t.slo) for t in again] == [(t.service, t.slo) for t in targets]


def test_the_shop_latency_slo_keeps_its_single_tier() -> None:
    targets = project_targets(load_project(EXAMPLES / "shop" / "roost.yaml"))
    (latency,) = [
        t for t in import_openslo(export_openslo(targets)).slos if t.slo.name == "latency"
    ]
    assert latency.slo.alerts is not None
    assert [(a.name, a.burn_rate) for a in latency.slo.alerts] == [("page-fast", 3.36)]
