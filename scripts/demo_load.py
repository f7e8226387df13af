"""Background traffic for `make demo`: steady GETs through roost's router, counted per revision.

    python scripts/demo_load.py URL OUT.jsonl [--rps 150] [--threads 6]

Every half second it appends one JSON line to OUT: ``{"t": unix seconds, "revisions": {name:
[requests, errors]}, "failed": n}`` — which revision answered (the router's
``x-roost-revision`` header) and how many answers were 5xx. It runs until SIGTERM or SIGINT.
The demo's report (scripts/demo_report.py) draws traffic split and error ratio from it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import threading
import time
import urllib.parse
from collections import defaultdict
from datetime import UTC, datetime

BUCKET = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--rps", type=float, default=150.0)
    parser.add_argument("--threads", type=int, default=6)
    args = parser.parse_args()
    target = urllib.parse.urlsplit(args.url)
    stop = threading.Event()
    lock = threading.Lock()
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failed = [0]
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    gap = args.threads / args.rps

    def client() -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
        next_at = time.monotonic()
        while not stop.is_set():
            try:
                conn.request("GET", "/demo")
                response = conn.getresponse()
                response.read()
                revision = response.getheader("x-roost-revision") or "(none)"
                with lock:
                    counts[revision][0] += 1
                    counts[revision][1] += response.status >= 500
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
                with lock:
                    failed[0] += 1
            next_at += gap
            stop.wait(max(0.0, next_at - time.monotonic()))

    workers = [threading.Thread(target=client, daemon=True) for _ in range(args.threads)]
    for worker in workers:
        worker.start()
    with open(args.out, "a") as out:
        while not stop.wait(BUCKET):
            with lock:
                line = {
                    "t": datetime.now(UTC).timestamp(),
                    "revisions": {name: list(c) for name, c in counts.items()},
                    "failed": failed[0],
                }
                counts.clear()
                failed[0] = 0
            out.write(json.dumps(line) + "\n")
            out.flush()
    for worker in workers:
        worker.join(timeout=6)


if __name__ == "__main__":
    main()
