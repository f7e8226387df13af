"""A control plane for the chaos test (tests/leases/test_chaos.py), run as a real process.

    python chaos_participant.py DATABASE_URL IDENTITY

It campaigns for the lease ``chaos`` on PostgreSQL through the real election code and, while
it leads, makes fenced writes (events of type ``chaos.write`` carrying its token). When it
becomes leader it writes an ``elected`` marker and prints ``elected TOKEN``.

When it is resumed after SIGSTOP (the signal handler notes the SIGCONT), the very first thing
it does is a fenced write with the fence of the last tenure it won, *without* asking the
election whether it still leads: that is the deposed leader which does not know it was deposed,
the case fencing exists for. It prints ``attempt TOKEN accepted|refused|error``; the test does
not trust that line but checks the events table.
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType

from roost.leases import ElectionConfig, LeaderElector, SqlLeaseBackend
from roost.store import Fence, StaleFencingToken, Store, StoreError, open_store

LEASE = "chaos"
TICK_SECONDS = 0.02


class Participant:
    def __init__(self, store: Store, identity: str) -> None:
        self.store = store
        self.identity = identity
        self.resumed = False
        self.stopping = False
        self.last_fence: Fence | None = None
        self.elected: Fence | None = None
        self.elector = LeaderElector(
            SqlLeaseBackend(store),
            ElectionConfig(
                LEASE,
                identity,
                lease_duration=0.5,
                renew_deadline=0.3,
                retry_period=0.02,
                jitter=0.2,
            ),
            on_started_leading=self._started,
        )

    def _started(self, fence: Fence) -> None:
        self.last_fence = fence
        self.elected = fence

    def write(self, kind: str, fence: Fence) -> str:
        try:
            self.store.events.append(
                "chaos.write",
                source=f"/chaos/{self.identity}",
                data={"kind": kind, "token": fence.token, "writer": self.identity},
                fence=fence,
            )
        except StaleFencingToken:
            return "refused"
        except StoreError:
            return "error"  # e.g. our session was killed while we were frozen mid-transaction
        return "accepted"

    def run(self) -> None:
        print("ready", flush=True)
        last_tick = 0.0
        while not self.stopping:
            if self.resumed:
                self.resumed = False
                if self.last_fence is not None:
                    outcome = self.write("resumed", self.last_fence)
                    print(f"attempt {self.last_fence.token} {outcome}", flush=True)
            wait = self.elector.step()
            if self.elected is not None:
                fence, self.elected = self.elected, None
                outcome = self.write("elected", fence)
                print(f"elected {fence.token} {outcome}", flush=True)
            elif self.elector.is_leader and time.monotonic() - last_tick >= TICK_SECONDS:
                fence_now = self.elector.fence
                if fence_now is not None:
                    self.write("tick", fence_now)
                last_tick = time.monotonic()
            if wait > 0:
                time.sleep(min(wait, 0.005))
        self.elector.shutdown()


def main() -> None:
    url, identity = sys.argv[1], sys.argv[2]
    with open_store(url) as store:
        participant = Participant(store, identity)

        def on_cont(signum: int, frame: FrameType | None) -> None:
            participant.resumed = True

        def on_term(signum: int, frame: FrameType | None) -> None:
            participant.stopping = True

        signal.signal(signal.SIGCONT, on_cont)
        signal.signal(signal.SIGTERM, on_term)
        participant.run()


if __name__ == "__main__":
    main()
