from datetime import timedelta
from pathlib import Path

import pytest

from roost.slo.openslo import OpenSloError, export_openslo, import_openslo
from roost.spec.slos import LatencySli, RatioSli

DATA = Path(__file__).parent / "data"


def test_imports_the_ratio_example_with_its_alert_policy() -> None:
    got = import_openslo((DATA / "openslo-ratio.yaml").read_text())
    (target,) = got.slos
    assert target.service == "my-rad-service"
    assert target.slo.name == "search-availability"
    assert target.slo.objective == pytest.approx(99.0)
    assert target.slo.window == timedelta(days=28)
    assert isinstance(target.slo.sli, RatioSli)
    assert got.services["my-rad-service"].startswith("This is a great")
    assert [
        (t.name, t.severity, round(t.threshold(timedelta(days=30)), 6), t.long, t.short)
        for t in got.tiers
    ] == [
        ("fast-burn", "page", 14.4, timedelta(hours=1), timedelta(minutes=5)),
        ("slow-burn", "ticket", 1.0, timedelta(days=3), timedelta(hours=6)),
    ]
    assert any("metric queries are not imported" in w for w in got.warnings)


def test_imports_thresholds_as_latency_slos_and_warns_about_timeslices() -> None:
    # The metric's name says no unit, so the caller does (OpenSLO gives `value` none).
    got = import_openslo((DATA / "openslo-threshold.yaml").read_text(), unit="s")
    fast, not_slow = got.slos
    assert isinstance(fast.slo.sli, LatencySli)
    assert fast.slo.sli.threshold == timedelta(milliseconds=250)
    assert fast.slo.objective == pytest.approx(95.0)
    assert fast.slo.window == timedelta(weeks=1)
    assert not_slow.slo.objective == pytest.approx(99.5)
    assert any("Timeslices budgeting is evaluated as Occurrences" in w for w in got.warnings)


def test_export_round_trips() -> None:
    original = import_openslo((DATA / "openslo-ratio.yaml").read_text()).slos
    original += import_openslo((DATA / "openslo-threshold.yaml").read_text(), unit="s").slos
    again = import_openslo(export_openslo(original))
    assert [(t.service, t.slo) for t in again.slos] == [(t.service, t.slo) for t in original]
    # each SLO kept its own tiers: the ratio example's two, the workbook's for the others
    assert original[0].slo.alerts is not None
    assert [a.name for a in original[0].slo.alerts] == ["fast-burn", "slow-burn"]
    assert {t.name for t in again.tiers} == {
        "fast-burn",
        "slow-burn",
        "page-fast",
        "page-slow",
        "ticket",
    }


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("target: 0.99", "target: 1.0"), "objective 100% must be above 0 and below 100"),
        (("indicatorRef: search-availability", "indicatorRef: nope"), "unknown indicatorRef"),
        (("isRolling: true", "isRolling: false"), "calendar windows are not supported"),
        (("kind: SLO", "kind: Nope"), "kind 'Nope' is not one of"),
        (
            ("apiVersion: openslo/v1\nkind: Service", "apiVersion: openslo/v2\nkind: Service"),
            "apiVersion 'openslo/v2' is not supported",
        ),
        (("duration: 28d", "duration: forever"), '"forever" is not a duration \\(OpenSLO'),
        (("duration: 28d", "duration: 0d"), "must be longer than 0s"),
        (("alertPolicyRef: search-burn", "alertPolicyRef: nope"), "unknown alertPolicyRef"),
        (("op: gte", "op: lte"), "must be gte/gt"),
    ],
)
def test_bad_files_get_one_line_with_the_document(edit: tuple[str, str], message: str) -> None:
    text = (DATA / "openslo-ratio.yaml").read_text().replace(*edit, 1)
    with pytest.raises(OpenSloError, match=message) as info:
        import_openslo(text, source="slos.yaml")
    assert str(info.value).startswith("slos.yaml")
    assert "\n" not in str(info.value)
