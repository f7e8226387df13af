"""A bounded, fixed-rate HTTP load that records every request: for tests and bench/agent_kill.

``rate`` requests per second for ``seconds``, spread over ``workers`` threads, each with its
own keep-alive connection (stdlib ``http.client``: light, so the generator is not what limits
a busy 2-core machine). Request *i* is due at ``start + i / rate``; a worker that is held up
(by a stalled server) sends the requests it owes late, so a stall shows as latency, and a
refused or reset connection shows as a failure. Nothing here asserts on time: callers look at
the counts, and report the recorded timestamps.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Sample:
    due: float
    sent: float
    done: float
    outcome: str  # "ok", "http 503", or the exception's name


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.samples)

    @property
    def failed(self) -> list[Sample]:
        return [s for s in self.samples if s.outcome != "ok"]

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for sample in self.samples:
            counts[sample.outcome] = counts.get(sample.outcome, 0) + 1
        return counts

    def first_ok_after(self, moment: float) -> Sample | None:
        """The first request sent after ``moment`` that was answered 200 (by completion time):
        once there is one, routing is back."""
        later = [s for s in self.samples if s.outcome == "ok" and s.sent > moment]
        return min(later, key=lambda s: s.done, default=None)

    def latency(self, quantile: float, *, since: float = 0.0, until: float = float("inf")) -> float:
        """A latency quantile (seconds) of the requests due in [since, until)."""
        chosen = sorted(s.done - s.due for s in self.samples if since <= s.due < until)
        if not chosen:
            return 0.0
        return chosen[min(len(chosen) - 1, int(quantile * len(chosen)))]


def run_load(
    url: str,
    *,
    rate: float,
    seconds: float,
    workers: int = 8,
    timeout: float = 15.0,
    path: str = "/load",
    started: threading.Event | None = None,
) -> LoadResult:
    """Send ``rate * seconds`` GET requests to ``url + path`` at the given rate; return them all.
    ``started`` is set once the first request is due."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    count = int(rate * seconds)
    result = LoadResult()
    lock = threading.Lock()
    next_index = [0]
    start = time.monotonic() + 0.05

    def worker() -> None:
        conn: http.client.HTTPConnection | None = None
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= count:
                break
            due = start + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if started is not None and not started.is_set():
                started.set()
            sent = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=timeout)
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                outcome = "ok" if response.status == 200 else f"http {response.status}"
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                outcome = type(exc).__name__
                if conn is not None:
                    conn.close()
                conn = None
            sample = Sample(due=due, sent=sent, done=time.monotonic(), outcome=outcome)
            with lock:
                result.samples.append(sample)
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + timeout * 4 + 30)
    result.samples.sort(key=lambda s: s.due)
    return result
