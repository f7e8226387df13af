"""``roost agent``: run the agent process until SIGTERM/SIGINT.

The agent is started by its supervisor (:mod:`roost.agent.supervising`, which ``roost up``
starts in its own session) so that it survives the terminal and the control plane, and is
restarted when it dies. It writes ``agent.json`` (URL, pid) in the state directory once it
listens. A generation that replaces a dead one records ``dev.roost.agent.restarted``.
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
from typing import Any

import httpx
import uvicorn

from roost._util import event_catalog
from roost.agent.api import create_agent_app
from roost.agent.handover import API, HandOver, bind_listener
from roost.agent.heartbeat import heartbeat_forever, node_lease_name
from roost.agent.hosting import DEFAULT_ENVIRONMENT, Agent
from roost.clock import RealClock
from roost.runtime.local.orphans import runtime_dirs
from roost.runtime.local.persisting import find_state_files, load_state
from roost.runtime.local.probing import new_http_client
from roost.runtime.local.sealing import Sealer, default_key_file
from roost.spec import SpecError, find_project_file, load_project
from roost.store import Store
from roost.traffic import install_uvloop

log = logging.getLogger(__name__)

AGENT_FILE = "agent.json"
SNAPSHOT_EVERY = 60.0
RESTARTED_EVENT = event_catalog.AGENT_RESTARTED


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the agent decides what a signal means."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_agent(
    state_dir: Path,
    *,
    sock: socket.socket | None,
    store: Store | None,
    supervised: bool = False,
) -> None:
    """Run until SIGTERM or SIGINT; then stop proxies and workloads and withdraw agent.json.

    ``supervised``: sockets come from the supervisor (see :mod:`roost.agent.handover`), and
    nothing is served before it says so; else ``sock`` is the API's listening socket."""
    install_uvloop()
    asyncio.run(_main(state_dir, sock=sock, store=store, supervised=supervised))


async def _main(
    state_dir: Path, *, sock: socket.socket | None, store: Store | None, supervised: bool
) -> None:
    clock = RealClock()
    # The state directory is <project>/.roost/agent: the project file (for probe SLIs) is two up.
    project_file = find_project_file(state_dir.parent.parent)
    agent = Agent(
        state_dir,
        clock=clock,
        project_file=project_file,
        default_environment=_first_environment(project_file),
    )
    config = uvicorn.Config(
        create_agent_app(agent), log_level="warning", access_log=False, lifespan="off"
    )
    config.load()
    server = _Server(config)
    handover = None
    if supervised:
        # Everything above is done ahead: a reserve agent waits here until the live one dies.
        await _warm_up(agent)
        handover = await asyncio.to_thread(HandOver.from_environment)
        if handover is None:
            return  # the supervisor went away before it needed this agent
        agent.handover = handover
        sock = handover.take(API)
    if sock is None:
        sock = bind_listener("127.0.0.1", 0, backlog=128)
    begun = clock.monotonic()
    adopted = await agent.start()
    if adopted:
        log.warning(
            "adopted %d running revision(s); listening %.3fs after the start",
            len(adopted),
            clock.monotonic() - begun,
        )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    tasks = [asyncio.create_task(_snapshots(agent))]
    if store is not None:
        previous = handover.previous if handover is not None else None
        tasks.append(asyncio.create_task(_heartbeat(store, clock, previous)))
    host, port = sock.getsockname()[:2]
    agent_file = state_dir / AGENT_FILE
    if handover is not None:
        tasks.append(asyncio.create_task(_announce(server, handover, store, clock)))
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


async def _warm_up(agent: Agent) -> None:
    """Pay ahead for what a takeover would otherwise pay on first use (lazy imports, model
    validators, the HTTP stack): read the revisions' state files and make one HTTP request,
    to a port that refuses. Only reads; what it finds is of no use later."""
    for runtime in runtime_dirs(agent.state_dir):
        sealer = Sealer(default_key_file(runtime))  # only opens: never creates a key
        for path in find_state_files(runtime):
            with contextlib.suppress(Exception):
                load_state(path, sealer=sealer)
    async with new_http_client() as client:
        with contextlib.suppress(httpx.HTTPError):
            await client.get("http://127.0.0.1:1/", timeout=1.0)


async def _heartbeat(store: Store, clock: RealClock, previous: dict[str, Any] | None) -> None:
    """Heartbeat; a generation replacing a dead one first frees the node lease its predecessor
    held, so the node stays Ready instead of waiting out the dead holder's lease."""
    if previous is not None and isinstance(previous.get("pid"), int):
        dead = f"{socket.gethostname()}:{previous['pid']}"
        try:
            await asyncio.to_thread(store.leases.release, node_lease_name(), dead)
        except Exception as exc:
            log.warning("the previous agent's node lease was not released: %s", exc)
    await heartbeat_forever(store, clock=clock)


async def _announce(
    server: uvicorn.Server, handover: HandOver, store: Store | None, clock: RealClock
) -> None:
    """Once the API answers: tell the supervisor, and record the restart this generation is."""
    while not server.started:
        await asyncio.sleep(0.01)
    handover.tell({"op": "serving"})
    previous = handover.previous
    if previous is None or store is None:
        return
    data = restart_data(previous, now=clock.now().timestamp())
    try:
        await asyncio.to_thread(
            store.events.append,
            RESTARTED_EVENT,
            source="roost/agent",
            subject=node_lease_name().removeprefix("agent-"),
            data=data,
        )
    except Exception as exc:  # the record is worth less than the data plane: log and go on
        log.warning("restart not recorded: %s", exc)


def restart_data(previous: dict[str, Any], *, now: float) -> dict[str, Any]:
    """The ``dev.roost.agent.restarted`` event's data: how the previous agent ended and how
    long it took until this one served (wall clock, both stamped on this machine)."""
    died_at = previous.get("died_at")
    down = round(now - died_at, 3) if isinstance(died_at, (int, float)) else None
    how = str(previous.get("exit", "ended"))
    return {
        "reason": f"agent pid {previous.get('pid')} {how}; serving again after {down}s",
        "previous_pid": previous.get("pid"),
        "exit": how,
        "returncode": previous.get("returncode"),
        "generation": previous.get("generation"),
        "restart_delay_seconds": previous.get("delay"),
        "down_seconds": down,
        "pid": os.getpid(),
    }


async def _snapshots(agent: Agent) -> None:
    while True:
        await asyncio.sleep(SNAPSHOT_EVERY)
        await asyncio.to_thread(agent.save_telemetry)


def _write_agent_file(path: Path, *, url: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid()}) + "\n")
    tmp.replace(path)
