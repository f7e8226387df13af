"""Per-revision request telemetry: what the proxy saw, for people and for rollout analysis.

* :class:`Recorder` — called by the proxy once per request; feeds both of the below.
* :class:`PrometheusMetrics` — ``roost_requests_total`` and ``roost_request_duration_seconds``
  in Prometheus text format, for ``/metrics``.
* :class:`TimeSeriesStore` — the embedded :class:`MetricsSource`: rate, error ratio, latency
  quantiles and raw samples over a window, with retention and downsampling, saved to a file.
"""

from roost.telemetry._protocol import MetricsSource
from roost.telemetry.classes import CODE_CLASSES, NO_RESPONSE, class_index, code_class
from roost.telemetry.persisting import SnapshotError
from roost.telemetry.prometheus import CONTENT_TYPE, DURATION_BUCKETS, PrometheusMetrics
from roost.telemetry.recording import Recorder
from roost.telemetry.timeseries import DEFAULT_TIERS, Tier, TimeSeriesStore

__all__ = [
    "CODE_CLASSES",
    "CONTENT_TYPE",
    "DEFAULT_TIERS",
    "DURATION_BUCKETS",
    "NO_RESPONSE",
    "MetricsSource",
    "PrometheusMetrics",
    "Recorder",
    "SnapshotError",
    "Tier",
    "TimeSeriesStore",
    "class_index",
    "code_class",
]
