"""Builds whose runner died (``kill -9``, a crashed machine) are marked ``lost``.

A build's row says who runs it (``host:pid``). A build still ``running`` whose runner process
is gone from this host will never finish by itself; leaving it "running" forever would lie in
``roost builds``. Builds run by other hosts are left alone: only their own host can tell.
"""

from __future__ import annotations

import contextlib
import socket

from roost._util.processes import pid_alive
from roost.store import Conflict, Store
from roost.store.builds import BuildRecord


def reap_lost(store: Store, *, limit: int = 200) -> list[BuildRecord]:
    """Mark this host's running builds whose runner is gone as ``lost``; returns them."""
    host = socket.gethostname()
    lost = []
    for build in store.builds.list(limit=limit):
        if build.finished or not build.runner:
            continue
        runner_host, _, pid = build.runner.rpartition(":")
        if runner_host != host or not pid.isdigit() or pid_alive(int(pid)):
            continue
        with contextlib.suppress(Conflict):  # it finished after all, just now
            lost.append(
                store.builds.finish(build.id, "lost", error=f"its runner (pid {pid}) is gone")
            )
    return lost
