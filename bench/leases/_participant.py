"""One control-plane process for the failover benchmark (see run.py).

    python _participant.py STORE_URL IDENTITY

Runs the control plane's leadership gate exactly as ``roost serve`` would (backend and timings
from the ROOST_* environment) and prints ``ready``, then ``leading MONOTONIC`` when it becomes
leader. CLOCK_MONOTONIC is shared by all processes on a host, so run.py compares it with the
moment it sent SIGKILL to the previous leader.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from types import FrameType

from roost.control.leadership.leading import open_gate
from roost.store import Fence, open_store


def main() -> None:
    url, identity = sys.argv[1], sys.argv[2]
    if os.environ.get("BENCH_LEASES_TRACE"):  # every election step, on the shared clock
        logging.basicConfig(
            level=logging.DEBUG, format=f"%(message)s [{identity}]", stream=sys.stderr
        )
        logging.getLogger("urllib3").setLevel(logging.INFO)
    done = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_term)
    with open_store(url) as store:

        def started(fence: Fence) -> None:
            print(f"leading {time.monotonic():.6f} {fence.token}", flush=True)

        gate = open_gate(store, identity=identity)
        gate.on_started_leading(started)
        print("ready", flush=True)
        with gate:
            done.wait()


if __name__ == "__main__":
    main()
