"""The recorder feeds Prometheus and the store; status classes."""

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from roost.clock import VirtualClock
from roost.telemetry import NO_RESPONSE, Recorder, code_class


def test_status_classes() -> None:
    assert [code_class(s) for s in (200, 204, 301, 404, 499, 500, 503)] == [
        "2xx",
        "2xx",
        "3xx",
        "4xx",
        "4xx",
        "5xx",
        "5xx",
    ]
    assert code_class(NO_RESPONSE) == "error"
    assert code_class(101) == "error"
    assert code_class(600) == "error"


def test_recorder_feeds_both_and_forgets_removed_revisions() -> None:
    clock = VirtualClock()
    recorder = Recorder(clock=clock)
    recorder.observe("web", "v1", 200, 0.003)
    recorder.observe("web", "v1", 502, 0.004)
    recorder.observe("web", "v2", NO_RESPONSE, 0.0005)
    assert recorder.store.request_count("web", "v1", window=timedelta(seconds=10)) == 2
    assert recorder.store.error_ratio("web", "v2", window=timedelta(seconds=10)) == 1.0

    def totals() -> dict[tuple[str, str], float]:
        text = recorder.render_metrics().decode()
        return {
            (s.labels["revision"], s.labels["code_class"]): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            # every class is exported, at zero until it counts: compare the counting ones
            if s.name == "roost_requests_total" and s.value
        }

    assert totals() == {("v1", "2xx"): 1, ("v1", "5xx"): 1, ("v2", "error"): 1}
    recorder.forget("web", "v2")
    assert totals() == {("v1", "2xx"): 1, ("v1", "5xx"): 1}
    assert 'revision="v2"' not in recorder.render_metrics().decode()
    recorder.observe("web", "v2", 200, 0.001)  # comes back if it serves again
    assert totals()[("v2", "2xx")] == 1
    # Two recorders never share a registry.
    assert "roost_requests_total{" not in Recorder().render_metrics().decode()
