"""A :class:`~roost.telemetry.MetricsSource` backed by Prometheus' HTTP API (PromQL).

The at-scale twin of :class:`~roost.telemetry.TimeSeriesStore`: it asks a Prometheus that
scrapes roost's ``/metrics`` the same questions, over ``roost_requests_total`` and the
``roost_request_duration_seconds`` histogram, with ``increase()`` and ``rate()``. Windows end at
Prometheus' own now. Differences worth knowing:

* counts come from ``increase()``, which Prometheus *extrapolates* to the window's edges, so
  they are floats and can be off by up to half a scrape interval's traffic at each edge;
* latency is only known at the histogram's bucket bounds: a bound in between is interpolated
  linearly (as ``histogram_quantile`` does), and there are no raw samples
  (:meth:`PrometheusSource.latency_samples` returns ``[]``, so a rank test is inconclusive).

Failures raise :class:`PrometheusError` with one line that says what happened (unreachable,
HTTP status, or Prometheus' own PromQL error) — the SLO engine reports it per SLO.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import httpx

from roost.spec.slos import LatencySli, RatioSli, Sli
from roost.telemetry.classes import CODE_CLASSES
from roost.telemetry.prometheus import DURATION_BUCKETS

_REQUESTS = "roost_requests_total"
_BUCKET = "roost_request_duration_seconds_bucket"
_COUNT = "roost_request_duration_seconds_count"


class PrometheusError(Exception):
    """Prometheus could not answer: unreachable, an HTTP error, or a PromQL error."""


def promql_window(window: timedelta) -> str:
    """A PromQL range for ``window``: whole seconds, at least one."""
    seconds = window.total_seconds()
    if seconds <= 0:
        raise ValueError(f"a window must be positive, got {window}")
    return f"{max(1, math.ceil(seconds))}s"


def selector(**labels: str) -> str:
    """``{a="x",b=~"y"}`` from labels; a value starting with ``~`` is a regex match."""
    parts = []
    for name, value in labels.items():
        op, text = ("=~", value[1:]) if value.startswith("~") else ("=", value)
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'{name}{op}"{escaped}"')
    return "{" + ",".join(parts) + "}"


def bad_classes(bad_status: str) -> list[str]:
    """The ``code_class`` values a ratio SLI's ``bad_status`` range covers.

    The exposition only keeps status *classes*, so a range must cover whole classes; requests
    without any response (``error``) are bad whenever 5xx are.
    """
    lo_text, _, hi_text = bad_status.partition("-")
    lo, hi = int(lo_text), int(hi_text or lo_text)
    classes = []
    for digit in range(2, 6):
        first, last = digit * 100, digit * 100 + 99
        if lo <= first and last <= hi:
            classes.append(f"{digit}xx")
        elif lo <= last and first <= hi:
            raise ValueError(
                f"bad_status {bad_status} splits the {digit}xx class; metrics only count "
                "whole classes (use e.g. 500-599)"
            )
    if "5xx" in classes:
        classes.append("error")
    assert all(c in CODE_CLASSES for c in classes)
    return classes


class PrometheusSource:
    """Answers :class:`~roost.telemetry.MetricsSource` (and the SLO engine's ``sli_counts``)
    from the Prometheus at ``url``. ``client`` lets a caller share a connection pool."""

    def __init__(
        self, url: str, *, timeout: float = 10.0, client: httpx.Client | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self._client = (
            client if client is not None else httpx.Client(timeout=timeout, trust_env=False)
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # -- raw queries -------------------------------------------------------------------------

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Run an instant query; the ``result`` list of a vector answer."""
        try:
            response = self._client.get(f"{self.url}/api/v1/query", params={"query": promql})
        except httpx.HTTPError as exc:
            raise PrometheusError(
                f"Prometheus at {self.url} is unreachable ({type(exc).__name__}: {exc})"
            ) from None
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(
                f"Prometheus at {self.url} answered HTTP {response.status_code}: "
                f"{response.text.strip()[:200]}"
            ) from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", response.text[:200]) if isinstance(body, dict) else body
            kind = body.get("errorType", "error") if isinstance(body, dict) else "error"
            raise PrometheusError(f"Prometheus rejected {promql!r}: {kind}: {error}")
        data = body.get("data", {})
        if data.get("resultType") != "vector":
            raise PrometheusError(
                f"expected a vector from {promql!r}, got {data.get('resultType')}"
            )
        result: list[dict[str, Any]] = data.get("result", [])
        return result

    def scalar(self, promql: str) -> float | None:
        """The single value of ``promql`` (an aggregate); ``None`` for an empty result or NaN."""
        result = self.query(promql)
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if math.isnan(value) else value

    def _sum(self, fn: str, metric: str, window: timedelta, **labels: str) -> float:
        value = self.scalar(f"sum({fn}({metric}{selector(**labels)}[{promql_window(window)}]))")
        return value or 0.0

    # -- MetricsSource -----------------------------------------------------------------------

    def request_rate(self, service: str, revision: str, *, window: timedelta) -> float:
        """Requests per second over ``window`` (``rate()``)."""
        return self._sum("rate", _REQUESTS, window, service=service, revision=revision)

    def request_count(self, service: str, revision: str, *, window: timedelta) -> int:
        """Requests within ``window`` (``increase()``, rounded)."""
        return round(self._sum("increase", _REQUESTS, window, service=service, revision=revision))

    def error_ratio(self, service: str, revision: str, *, window: timedelta) -> float | None:
        """(5xx + no response) / all, over ``window``; ``None`` without requests."""
        total = self._sum("increase", _REQUESTS, window, service=service, revision=revision)
        if total <= 0:
            return None
        bad = self._sum(
            "increase",
            _REQUESTS,
            window,
            service=service,
            revision=revision,
            code_class="~5xx|error",
        )
        return bad / total

    def latency_quantile(
        self, service: str, revision: str, q: float, *, window: timedelta
    ) -> float | None:
        """``histogram_quantile`` over the duration buckets."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"a quantile must be between 0 and 1, got {q}")
        sel = selector(service=service, revision=revision)
        return self.scalar(
            f"histogram_quantile({q}, sum by (le) (rate({_BUCKET}{sel}[{promql_window(window)}])))"
        )

    def latency_samples(
        self, service: str, revision: str, *, window: timedelta, limit: int = 1000
    ) -> list[float]:
        """Always ``[]``: Prometheus keeps bucket counts, not individual requests."""
        return []

    # -- the SLO engine's question -----------------------------------------------------------

    def sli_counts(self, service: str, sli: Sli, *, window: timedelta) -> tuple[float, float]:
        """``(good, total)`` events of ``sli`` for all of ``service``'s revisions."""
        if isinstance(sli, RatioSli):
            total = self._sum("increase", _REQUESTS, window, service=service)
            classes = bad_classes(sli.bad_status)
            bad = (
                self._sum(
                    "increase",
                    _REQUESTS,
                    window,
                    service=service,
                    code_class="~" + "|".join(classes),
                )
                if classes
                else 0.0
            )
            return max(0.0, total - bad), total
        if isinstance(sli, LatencySli):
            return self._latency_counts(service, sli, window)
        raise PrometheusError("probe SLIs are not exported to Prometheus by roost")

    def _latency_counts(
        self, service: str, sli: LatencySli, window: timedelta
    ) -> tuple[float, float]:
        total = self._sum("increase", _COUNT, window, service=service)
        bound = sli.threshold.total_seconds()
        lo, hi = bucket_bounds(bound)
        les = [f"{b:g}" for b in (lo, hi) if b is not None]
        # Unescaped dots in the regex are harmless: no other bound's spelling matches.
        sel = selector(service=service, le="~" + "|".join(les))
        rows = self.query(f"sum by (le) (increase({_BUCKET}{sel}[{promql_window(window)}]))")
        at = {float(r["metric"]["le"]): float(r["value"][1]) for r in rows}
        below = at.get(lo, 0.0) if lo is not None else 0.0
        if hi is None or lo == hi:
            return (total if hi is None else below), total
        above = at.get(hi, below)
        start = 0.0 if lo is None else lo
        good = below + (above - below) * (bound - start) / (hi - start)
        return min(good, total), total

    def __repr__(self) -> str:
        return f"PrometheusSource({self.url!r})"


def bucket_bounds(bound: float) -> tuple[float | None, float | None]:
    """The histogram bounds around ``bound``: ``(lower, upper)``, equal when ``bound`` is a
    bucket's own; ``None`` below the first or above the last."""
    lower = max((b for b in DURATION_BUCKETS if b <= bound), default=None)
    upper = min((b for b in DURATION_BUCKETS if b >= bound), default=None)
    return lower, upper
