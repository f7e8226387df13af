"""Grouping, group wait, group interval, repeat interval and silences on a virtual clock."""

from datetime import UTC, datetime, timedelta

import pytest

from roost.alerts import Alert, Route, Router, Silence, SilenceError
from roost.alerts.silences import load, save

T0 = datetime(2025, 3, 1, tzinfo=UTC)
ROUTE = Route(
    "hook",
    "http://127.0.0.1:9/hook",
    group_wait=timedelta(seconds=30),
    group_interval=timedelta(minutes=5),
    repeat_interval=timedelta(hours=4),
)


def alert(service: str, tier: str) -> Alert:
    return Alert(
        {
            "alertname": "RoostSloErrorBudgetBurn",
            "roost_service": service,
            "tier": tier,
            "severity": "page",
        },
        {"summary": f"{service} {tier}"},
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_group_wait_batches_then_interval_then_repeat_then_resolved() -> None:
    router = Router(ROUTE)
    router.observe([alert("web", "page-fast")], now=at(0))
    assert router.flush(now=at(29)) == []
    router.observe(
        [alert("web", "page-fast"), alert("web", "page-slow"), alert("api", "page-fast")],
        now=at(10),
    )
    sent = router.flush(now=at(40))  # api's group appeared at 10: its wait ends at 40
    # Grouped by (alertname, roost_service): web's two alerts in one notification.
    web = next(n.payload for n in sent if n.payload["groupLabels"]["roost_service"] == "web")
    assert len(sent) == 2
    assert web["version"] == "4"
    assert web["status"] == "firing"
    assert web["receiver"] == "hook"
    assert [a["labels"]["tier"] for a in web["alerts"]] == ["page-fast", "page-slow"]
    assert web["commonLabels"] == {
        "alertname": "RoostSloErrorBudgetBurn",
        "roost_service": "web",
        "severity": "page",
    }
    assert web["alerts"][0]["startsAt"] == "2025-03-01T00:00:00Z"
    assert web["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert len(web["alerts"][0]["fingerprint"]) == 16
    # Nothing changed: quiet until repeat_interval.
    assert router.flush(now=at(3600)) == []
    assert len(router.flush(now=at(40 + 4 * 3600))) == 2
    # web's page-slow resolves: told after group_interval, as resolved inside a firing group.
    router.observe([alert("web", "page-fast"), alert("api", "page-fast")], now=at(14_500))
    assert router.flush(now=at(14_600)) == []
    (changed,) = router.flush(now=at(40 + 4 * 3600 + 300))
    assert [(a["labels"]["tier"], a["status"]) for a in changed.payload["alerts"]] == [
        ("page-fast", "firing"),
        ("page-slow", "resolved"),
    ]
    # Everything resolves: one resolved notification per group, then nothing.
    router.observe([], now=at(20_000))
    done = router.flush(now=at(21_000))
    assert {n.payload["status"] for n in done} == {"resolved"}
    assert router.flush(now=at(99_000)) == []
    assert router.active() == []


def test_a_blip_shorter_than_group_wait_notifies_nobody() -> None:
    router = Router(ROUTE)
    router.observe([alert("web", "page-fast")], now=at(0))
    router.observe([], now=at(10))
    assert router.flush(now=at(60)) == []
    assert router.active() == []


def test_silences_mute_matching_alerts_while_active(tmp_path) -> None:
    router = Router(ROUTE)
    silence = Silence("s1", {"roost_service": "~w.b"}, at(0), at(3600), "alice", "deploy")
    router.silences = [silence]
    router.observe([alert("web", "page-fast"), alert("api", "page-fast")], now=at(0))
    (only,) = router.flush(now=at(30))
    assert only.payload["groupLabels"]["roost_service"] == "api"
    # Once the silence ends, web notifies.
    (web,) = router.flush(now=at(3600))
    assert web.payload["groupLabels"]["roost_service"] == "web"
    path = tmp_path / ".roost" / "silences.json"
    save(path, [silence])
    assert load(path) == [silence]


def test_bad_silences_are_refused_with_a_reason(tmp_path) -> None:
    with pytest.raises(SilenceError, match="at least one matcher"):
        Silence("s", {}, at(0), at(1), "a", "c")
    with pytest.raises(SilenceError, match="end after it starts"):
        Silence("s", {"a": "b"}, at(1), at(0), "a", "c")
    with pytest.raises(SilenceError, match="is not a regex"):
        Silence("s", {"a": "~("}, at(0), at(1), "a", "c")
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    with pytest.raises(SilenceError, match="cannot read silences"):
        load(bad)
