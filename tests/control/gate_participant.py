"""One control-plane process for tests/control/test_leading.py: opens the store, runs the
leadership gate (timings and backend from the environment, like ``roost serve``), and reports
on stdout:

* ``leading MONOTONIC TOKEN``: it became leader (CLOCK_MONOTONIC is shared by all processes
  on the host, so the test can compare it with its own clock), then ``wrote`` once a fenced
  write went through;
* ``stopped``: it no longer leads.

SIGTERM stops it cleanly (the gate releases the lease).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from types import FrameType

from roost.control.leadership.leading import open_gate
from roost.store import Fence, open_store


def main() -> None:
    url, identity = sys.argv[1], sys.argv[2]
    done = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_term)
    with open_store(url) as store:

        def started(fence: Fence) -> None:
            print(f"leading {time.monotonic():.6f} {fence.token}", flush=True)
            store.events.append("gate.test", source=f"/gate/{identity}", fence=fence)
            print("wrote", flush=True)

        gate = open_gate(store, identity=identity)
        gate.on_started_leading(started)
        gate.on_stopped_leading(lambda: print("stopped", flush=True))
        print("ready", flush=True)  # before the gate starts: "leading" always comes after it
        with gate:
            done.wait()


if __name__ == "__main__":
    main()
