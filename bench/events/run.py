"""Benchmark: the event bus, publish → delivered, on the state store's outbox and on NATS
JetStream.

    .venv/bin/python bench/events/run.py [--events 5000] [--rate 500] [--seconds 10]

Publish: how many events per second reach the bus. On the outbox a publish *is* an event-log
append (hash chain + outbox row in one transaction): one event per transaction, and bursts of
100 per transaction (``Events.append_many``). On JetStream the relay publishes what the outbox
holds (``Nats-Msg-Id`` dedupe, 256 acknowledgements in flight). Baseline, same run: a bare
SQLite insert of the same JSON, one transaction each (what any durable write costs here).

Delivery: events appended at a fixed rate to a store whose dispatcher delivers them to a
CloudEvents webhook (a ThreadingHTTPServer on 127.0.0.1); latency = receiver's time - append
time, same process and clock. Goal: >= 5,000 events/s published; p99 <= 50 ms at 500 events/s.

nats-server is started from its Debian package with the test helper (tests/_nats.py) and
stopped afterwards. Not a test: it times things, CI never runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the test helper that starts nats-server

from tests._nats import NatsUnavailable, start_nats  # noqa: E402

from roost._util import event_catalog as catalog  # noqa: E402
from roost.clock import RealClock  # noqa: E402
from roost.events.dispatching import Dispatcher  # noqa: E402
from roost.events.opening import open_bus  # noqa: E402
from roost.events.relaying import Relay  # noqa: E402
from roost.spec.triggers import EventBus, Trigger  # noqa: E402
from roost.store import Store, open_store  # noqa: E402

TYPE = catalog.BUILD_STARTED
SHM = Path("/dev/shm")  # noqa: S108 - tmpfs, like tests/_etcd.py: measure roost, not fsync


class Receiver:
    """Records when each event id arrived (perf_counter)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                owner.arrived[self.headers["ce-id"]] = time.perf_counter()
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def _store(tmp: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}", clock=RealClock()) as store:
        yield store


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}"


def publish_numbers(tmp: Path, n: int, nats_url: str | None) -> list[tuple[str, str]]:
    rows = []
    conn = sqlite3.connect(tmp / "baseline.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    body = json.dumps({"id": "x" * 26, "type": TYPE, "data": {"n": 1}})
    t0 = time.perf_counter()
    for _ in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (body) VALUES (?)", (body,))
        conn.execute("COMMIT")
    rows.append(
        ("baseline: bare SQLite insert, 1 per transaction", _rate(n, time.perf_counter() - t0))
    )
    conn.close()
    with _store(tmp) as store:
        t0 = time.perf_counter()
        for i in range(n):
            store.events.append(TYPE, source=catalog.SOURCE_BUILDS, data={"n": i})
        rows.append(
            ("outbox (SQLite): append, 1 per transaction", _rate(n, time.perf_counter() - t0))
        )
        t0 = time.perf_counter()
        for start in range(0, n, 100):
            store.events.append_many(
                [(TYPE, catalog.SOURCE_BUILDS, None, {"n": i}) for i in range(start, start + 100)]
            )
        rows.append(
            (
                "outbox (SQLite): append_many, 100 per transaction",
                _rate(n, time.perf_counter() - t0),
            )
        )
        if nats_url is not None:
            spec = EventBus(backend="jetstream", url=nats_url, stream="ROOST_BENCH")
            bus = open_bus(spec, store)
            store.outbox.advance("relay:jetstream", 0)  # relay the 2n events already there
            relay = Relay(store, bus)
            total = 0
            t0 = time.perf_counter()
            while moved := relay.relay_once(limit=1000):
                total += moved
            rows.append(
                ("JetStream: relay outbox → stream", _rate(total, time.perf_counter() - t0))
            )
            envelopes = [
                {
                    "specversion": "1.0",
                    "id": uuid.uuid4().hex,
                    "type": TYPE,
                    "source": "roost:/b",
                    "data": {"n": i},
                }
                for i in range(n)
            ]
            t0 = time.perf_counter()
            for start in range(0, n, 500):
                bus.publish(envelopes[start : start + 500])
            rows.append(("JetStream: publish, batches of 500", _rate(n, time.perf_counter() - t0)))
            bus.close()
    return rows


def delivery_numbers(
    tmp: Path, rate: int, seconds: float, nats_url: str | None
) -> list[tuple[str, ...]]:
    rows = []
    backends = [("outbox (SQLite)", None)] + ([("JetStream", nats_url)] if nats_url else [])
    for name, url in backends:
        receiver = Receiver()
        trigger = Trigger.model_validate(
            {
                "name": "bench",
                "webhook": {"url": receiver.url},
                "filters": [{"exact": {"type": TYPE}}],
            }
        )
        with _store(tmp) as store:
            if url is None:
                bus = open_bus(EventBus(), store)
                relay = None
            else:
                spec = EventBus(backend="jetstream", url=url, stream="ROOST_BENCH")
                bus = open_bus(spec, store)
                relay = Relay(store, bus)
            d = Dispatcher(store, bus, [trigger], relay=relay, workers=8).start()
            sent: dict[str, float] = {}
            n = int(rate * seconds)
            t_start = time.perf_counter()
            for i in range(n):
                due = t_start + i / rate
                while (now := time.perf_counter()) < due:
                    time.sleep(min(due - now, 0.001))
                record = store.events.append(TYPE, source=catalog.SOURCE_BUILDS, data={"n": i})
                sent[record.id] = time.perf_counter()
            achieved = n / (time.perf_counter() - t_start)
            deadline = time.monotonic() + 60
            while len(receiver.arrived) < n and time.monotonic() < deadline:
                time.sleep(0.05)
            d.stop()
            bus.close()
        receiver.close()
        lat = sorted(
            (receiver.arrived[k] - v) * 1000 for k, v in sent.items() if k in receiver.arrived
        )
        rows.append(
            (
                name,
                f"{achieved:,.0f}",
                f"{len(lat)}/{n}",
                f"{statistics.median(lat):.1f}" if lat else "-",
                f"{_quantile(lat, 0.99):.1f}",
                f"{lat[-1]:.1f}" if lat else "-",
            )
        )
    return rows


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--dir",
        type=Path,
        default=SHM if SHM.is_dir() else None,
        help="Where the SQLite files go (default: tmpfs, so the numbers are roost's, not the "
        "disk's fsync; pass a disk folder to see those).",
    )
    args = parser.parse_args()
    try:
        nats = start_nats()
    except NatsUnavailable as exc:
        print(f"JetStream skipped: {exc}")
        nats = None
    try:
        with tempfile.TemporaryDirectory(prefix="roost-bench-events-", dir=args.dir) as tmp:
            url = nats.url if nats else None
            print(f"\nstate store in {tmp}; load average {os.getloadavg()[0]:.1f}")
            print(f"\npublish throughput ({args.events:,} events)\n")
            print(f"| {'what':<52} | {'events/s':>9} |\n|{'-' * 54}|{'-' * 11}|")
            for what, value in publish_numbers(Path(tmp), args.events, url):
                print(f"| {what:<52} | {value:>9} |")
            at = f"{args.rate} events/s for {args.seconds:g} s"
            print(f"\npublish → delivered to a webhook at {at}\n")
            print("| bus | achieved/s | delivered | p50 ms | p99 ms | max ms |")
            print("|---|---|---|---|---|---|")
            for row in delivery_numbers(Path(tmp), args.rate, args.seconds, url):
                print("| " + " | ".join(row) + " |")
    finally:
        if nats is not None:
            nats.stop()


if __name__ == "__main__":
    main()
