"""``roost agent``: run the agent process until SIGTERM/SIGINT.

The agent is started in its own session by ``roost up`` so that it survives the terminal and the
control plane. It writes ``agent.json`` (URL, pid) in the state directory once it listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from roost.agent.api import create_agent_app
from roost.agent.heartbeat import heartbeat_forever
from roost.agent.hosting import DEFAULT_ENVIRONMENT, Agent
from roost.clock import RealClock
from roost.spec import SpecError, find_project_file, load_project
from roost.store import Store
from roost.traffic import install_uvloop

log = logging.getLogger(__name__)

AGENT_FILE = "agent.json"
SNAPSHOT_EVERY = 60.0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the agent decides what a signal means."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_agent(
    state_dir: Path,
    *,
    sock: socket.socket,
    store: Store | None,
) -> None:
    """Run until SIGTERM or SIGINT; then stop proxies and workloads and withdraw agent.json."""
    install_uvloop()
    asyncio.run(_main(state_dir, sock=sock, store=store))


async def _main(state_dir: Path, *, sock: socket.socket, store: Store | None) -> None:
    clock = RealClock()
    # The state directory is <project>/.roost/agent: the project file (for probe SLIs) is two up.
    project_file = find_project_file(state_dir.parent.parent)
    agent = Agent(
        state_dir,
        clock=clock,
        project_file=project_file,
        default_environment=_first_environment(project_file),
    )
    adopted = await agent.start()
    if adopted:
        log.warning("adopted %d running revision(s)", len(adopted))
    server = _Server(
        uvicorn.Config(
            create_agent_app(agent), log_level="warning", access_log=False, lifespan="off"
        )
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    tasks = [asyncio.create_task(_snapshots(agent))]
    if store is not None:
        tasks.append(asyncio.create_task(heartbeat_forever(store, clock=clock)))
    host, port = sock.getsockname()[:2]
    agent_file = state_dir / AGENT_FILE
    try:
        _write_agent_file(agent_file, url=f"http://{host}:{port}")
        await server.serve(sockets=[sock])
    finally:
        agent_file.unlink(missing_ok=True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await agent.stop(stop_workloads=True)


def _first_environment(project_file: Path | None) -> str:
    """The project's first environment: the one a routes.json from before environments were
    boundaries belongs to (it was the only one ``roost up`` started)."""
    if project_file is not None:
        try:
            return next(iter(load_project(project_file).environments))
        except (SpecError, OSError, StopIteration) as exc:
            log.warning("default environment unknown (%s); using %r", exc, DEFAULT_ENVIRONMENT)
    return DEFAULT_ENVIRONMENT


async def _snapshots(agent: Agent) -> None:
    while True:
        await asyncio.sleep(SNAPSHOT_EVERY)
        await asyncio.to_thread(agent.save_telemetry)


def _write_agent_file(path: Path, *, url: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid()}) + "\n")
    tmp.replace(path)
