"""Sending warm-up requests to new replicas, so that the rollout can tell warm from cold.

The decision (is this replica warm, cold-but-allowed, or failed?) is the rollout domain's
:func:`~roost.rollout.warmup_status`; this module only does the I/O behind it: one background
thread per replica sends rounds of ``warmup.requests`` GETs to ``warmup.path`` and measures each
round's p95, and :meth:`Warmer.progress` reports what it saw as a
:class:`~roost.rollout.WarmupProgress`.

The requests go to the replica's own port, not through the router: warm-up is per replica (a
router would spread one round over every replica of the revision), and the warm-up's slow
requests must not count as the canary's traffic in the analysis.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from roost.clock import Clock
from roost.rollout import WarmupProgress
from roost.spec.probes import Warmup

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 5.0
"""A warm-up request slower than this counts as not answered (the replica is far from warm)."""
ERROR_PAUSE = 0.2
"""After a round in which nothing answered, wait this long before the next (no busy loop)."""


@dataclass(frozen=True, slots=True)
class ReplicaKey:
    """One run of one replica: a restarted process (new pid) is a new, cold replica."""

    service: str
    revision: str
    index: int
    pid: int | None


@dataclass
class _Worker:
    key: ReplicaKey
    url: str
    warmup: Warmup
    started_at: datetime
    stop: threading.Event = field(default_factory=threading.Event)
    sent: int = 0
    round_p95: float | None = None
    done: bool = False
    thread: threading.Thread | None = None


class Warmer:
    """Warm-up traffic for every new replica the rollouts are waiting for.

    Thread-safe. Workers stop by themselves once their replica is warm (the criteria of its
    :class:`~roost.spec.Warmup` hold) or ``max_duration`` has passed; :meth:`retain` stops the
    ones whose replica is gone.
    """

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._workers: dict[ReplicaKey, _Worker] = {}

    def progress(self, key: ReplicaKey, *, host: str, port: int, warmup: Warmup) -> WarmupProgress:
        """What warm-up has seen for the replica ``key`` listening on ``host:port``; the first
        call (the replica has just passed its startup probe) starts warming it."""
        with self._lock:
            worker = self._workers.get(key)
            if worker is None:
                worker = _Worker(
                    key=key,
                    url=f"http://{host}:{port}{warmup.path}",
                    warmup=warmup,
                    started_at=self._clock.now(),
                )
                worker.thread = threading.Thread(
                    target=self._run,
                    args=(worker,),
                    daemon=True,
                    name=f"warmup-{key.revision}-{key.index}",
                )
                self._workers[key] = worker
                worker.thread.start()
            return WarmupProgress(
                started_at=worker.started_at,
                requests_sent=worker.sent,
                round_p95=worker.round_p95,
            )

    def retain(self, keys: Iterable[ReplicaKey]) -> None:
        """Forget every replica not in ``keys`` (stopping its worker)."""
        keep = set(keys)
        with self._lock:
            gone = [key for key in self._workers if key not in keep]
            workers = [self._workers.pop(key) for key in gone]
        for worker in workers:
            worker.stop.set()

    def close(self) -> None:
        """Stop every worker."""
        self.retain(())

    def _run(self, worker: _Worker) -> None:
        warmup = worker.warmup
        deadline = time.monotonic() + warmup.max_duration.total_seconds()
        bound = None if warmup.until_p95_below is None else warmup.until_p95_below.total_seconds()
        with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
            while not worker.stop.is_set() and time.monotonic() < deadline:
                latencies = _round(client, worker.url, warmup.requests, warmup.concurrency)
                answered = len(latencies)
                p95 = _p95(latencies) if answered == warmup.requests else None
                with self._lock:
                    worker.sent += answered
                    if p95 is not None:
                        worker.round_p95 = p95
                if p95 is not None and (bound is None or p95 < bound):
                    break  # warm: warmup_status will say so; no more requests needed
                if answered == 0:
                    worker.stop.wait(ERROR_PAUSE)
        worker.done = True

    def __repr__(self) -> str:
        with self._lock:
            return f"Warmer(replicas={len(self._workers)})"


def _round(client: httpx.Client, url: str, requests: int, concurrency: int) -> list[float]:
    """Send ``requests`` GETs, ``concurrency`` at a time; the latencies of those answered."""
    latencies: list[float] = []
    lock = threading.Lock()
    base, extra = divmod(requests, concurrency)
    share = [base + (1 if i < extra else 0) for i in range(concurrency)]

    def send(count: int) -> None:
        for _ in range(count):
            began = time.perf_counter()
            try:
                client.get(url)
            except httpx.HTTPError:
                continue  # not answered: counts against the round
            with lock:
                latencies.append(time.perf_counter() - began)

    if concurrency == 1:
        send(requests)
        return latencies
    threads = [threading.Thread(target=send, args=(n,), daemon=True) for n in share if n]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def _p95(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[max(1, math.ceil(0.95 * len(ordered))) - 1]
