"""The agent's supervisor: keeps one agent serving a project, and the router's sockets open.

``roost up`` starts ``python -m roost.agent.supervising --project ROOT`` in its own session; this
process starts the agent, restarts it when it dies, and stops it on SIGTERM (``roost down``).

Why a supervisor *and* socket hand-over, and why a reserve agent — the goal is that a
``kill -9`` of the agent under load loses (almost) no request and routing is back within 2 s:

* A supervisor alone restarts the agent, but between the death and the new agent binding its
  ports every connection is refused, and an agent takes 2-4 s just to import on a busy machine.
* So the supervisor owns the listening sockets — the agent's API and one per service, bound here
  from ``routes.json`` or sent here by the agent whenever it binds a new one (see
  :mod:`roost.agent.handover`) — and hands them to each agent generation. The kernel keeps a
  listening socket open as long as one process holds it: while no agent runs, connections are
  completed and queued, not refused, and the next agent accepts them.
* And it keeps a *reserve* agent: a second agent process, fully imported, that waits for
  ``go``. When the live agent dies the reserve gets the sockets at once, adopts the running
  replicas (``LocalRuntime.adopt``), and accepts the queued connections; a new reserve is
  started a little later, so that it does not compete for the CPU with the takeover.

The new agent records the restart (``dev.roost.agent.restarted``, with how the old one ended)
in the state store; ``roost doctor`` lists it. A supervisor does not mask a broken agent: the
first generation dying before it serves ends the supervisor with exit code 1 (``roost up``
shows why), and repeated quick deaths are restarted with an exponential back-off.

Stdlib only (it imports :mod:`roost.agent.handover`, also stdlib only): it must stay small and
start fast, and it holds no state of the data plane beyond the sockets, so there is little in
it that can fail. If it is killed, the agent keeps serving; it just is not restarted any more.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost._util.processes import keep_files_private
from roost.agent.handover import (
    API,
    CHANNEL_ENV,
    LISTENER_PREFIX,
    bind_listener,
    receive,
    send,
)
from roost.clock import RealClock

log = logging.getLogger("roost.agent.supervisor")

SUPERVISOR_FILE = "supervisor.json"
ROUTES_FILE = "routes.json"
STABLE_AFTER = 10.0
"""An agent that served this long before dying counts as healthy: the back-off starts over."""
MAX_DELAY = 30.0
RESERVE_AFTER = 3.0
"""Seconds between a takeover and starting the next reserve: the takeover gets the CPU first."""
FIRST_RESERVE_AFTER = 10.0
"""Seconds between the first agent serving and starting a reserve: ``roost up`` (starting the
control plane, then the replicas) gets the CPU first."""
STOP_TIMEOUT = 60.0
RESERVE_ENV = "ROOST_AGENT_RESERVE"


def restart_delay(streak: int) -> float:
    """Seconds to wait before restarting an agent after ``streak`` earlier deaths in a row, each
    within :data:`STABLE_AFTER` of its start: none after a healthy run (a takeover must be
    immediate), then 0.5 s, 1 s, 2 s, ... up to :data:`MAX_DELAY`."""
    if streak <= 0:
        return 0.0
    return float(min(MAX_DELAY, 0.25 * 2**streak))


def describe_exit(returncode: int) -> str:
    """``killed by signal 9 (SIGKILL)`` or ``exited with code 1``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown"
        return f"killed by signal {-returncode} ({name})"
    return f"exited with code {returncode}"


@dataclass
class _Agent:
    process: subprocess.Popen[bytes]
    channel: socket.socket
    generation: int
    live_since: float | None = None
    serving: bool = False
    standing_by: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid


class Supervisor:
    """One project's agent supervisor (see the module doc). ``run()`` returns the exit code."""

    def __init__(
        self,
        root: Path,
        *,
        api_port: int = 0,
        host: str = "127.0.0.1",
        reserve: bool = True,
        command: list[str] | None = None,
    ) -> None:
        self.root = root
        self.command = command or [sys.executable, "-m", "roost", "agent", "--project", str(root)]
        self.keep_reserve = reserve
        self.state_dir = root / ".roost" / "agent"
        self.host = host
        self.api_port = api_port
        self.sockets: dict[str, socket.socket] = {}
        self.live: _Agent | None = None
        self.reserve: _Agent | None = None
        self.generation = 0
        self.restarts = 0
        self.streak = 0
        self.reserve_streak = 0
        self.previous: dict[str, Any] | None = None
        self.restart_at: float | None = None
        self.reserve_at: float | None = None
        self.stopping = False
        self.exit_code = 0
        self.selector = selectors.DefaultSelector()
        self.clock = RealClock()

    # -- the loop -----------------------------------------------------------------------------

    def run(self) -> int:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_stop_signal)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the selector
        self.selector.register(wake_r, selectors.EVENT_READ, None)
        try:
            self._open_sockets()
            self.live = self._spawn()
            self._go(self.live)
            self._write_state()
            while not self.stopping:
                for key, _ in self.selector.select(self._timeout()):
                    if key.data is None:
                        _drain(wake_r)
                    else:
                        self._on_message(key.data)
                self._reap()
                self._due()
        finally:
            self._stop_all()
            signal.set_wakeup_fd(-1)
            os.close(wake_r)
            os.close(wake_w)
        return self.exit_code

    def _on_stop_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _timeout(self) -> float | None:
        due = [t for t in (self.restart_at, self.reserve_at) if t is not None]
        return None if not due else max(0.0, min(due) - time.monotonic())

    # -- agents -------------------------------------------------------------------------------

    def _open_sockets(self) -> None:
        """The API socket, and the services' listeners as routes.json last recorded them (a
        port taken by another program meanwhile is left to the agent to sort out)."""
        self.sockets[API] = bind_listener(self.host, self.api_port, backlog=128)
        for name, port in _saved_listeners(self.state_dir / ROUTES_FILE).items():
            try:
                self.sockets[f"{LISTENER_PREFIX}{name}"] = bind_listener(self.host, port)
            except OSError as exc:
                log.warning("cannot listen for %s on port %s again: %s", name, port, exc)

    def _spawn(self) -> _Agent:
        self.generation += 1
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**os.environ, CHANNEL_ENV: str(theirs.fileno())}
        process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            env=env,
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        agent = _Agent(process=process, channel=ours, generation=self.generation)
        self.selector.register(ours, selectors.EVENT_READ, agent)
        return agent

    def _go(self, agent: _Agent) -> None:
        names = list(self.sockets)
        message = {"op": "go", "names": names, "previous": self.previous}
        try:
            send(agent.channel, message, [self.sockets[n].fileno() for n in names])
        except OSError as exc:
            log.warning("agent pid %d did not get its sockets: %s", agent.pid, exc)
        agent.live_since = time.monotonic()

    def _on_message(self, agent: _Agent) -> None:
        try:
            got = receive(agent.channel)
        except OSError:
            got = None
        if got is None:  # that agent is gone; _reap sees its exit status
            self._forget_channel(agent)
            return
        message, fds = got
        op, name = message.get("op"), str(message.get("name", ""))
        if op == "standby":
            agent.standing_by = True
            self._write_state()
        if agent is not self.live:
            for fd in fds:
                os.close(fd)
            return
        if op == "keep" and fds and name.startswith(LISTENER_PREFIX):
            old = self.sockets.pop(name, None)
            if old is not None:
                old.close()
            self.sockets[name] = socket.socket(fileno=fds[0])
            for fd in fds[1:]:
                os.close(fd)
            return
        for fd in fds:
            os.close(fd)
        if op == "drop" and name.startswith(LISTENER_PREFIX) and name in self.sockets:
            self.sockets.pop(name).close()
        elif op == "serving":
            agent.serving = True
            self._write_state()
            if self.keep_reserve and self.reserve is None and self.reserve_at is None:
                self.reserve_at = time.monotonic() + FIRST_RESERVE_AFTER

    def _reap(self) -> None:
        live, reserve = self.live, self.reserve
        if reserve is not None and reserve.process.poll() is not None:
            self.reserve = None
            self._forget_channel(reserve)
            self._write_state()
            code = reserve.process.returncode
            log.warning("the reserve agent (pid %d) %s", reserve.pid, describe_exit(code))
            self.reserve_streak += 1
            self.reserve_at = time.monotonic() + max(1.0, restart_delay(self.reserve_streak))
        if live is None or live.process.poll() is None:
            return
        self.live = None
        self._forget_channel(live)
        code = live.process.returncode
        how = describe_exit(code)
        if code == 0:
            log.warning("the agent (pid %d) stopped by itself; stopping too", live.pid)
            self.stopping = True
            return
        if not live.serving and live.generation == 1:
            log.error("the agent (pid %d) %s before it served; giving up", live.pid, how)
            self.stopping, self.exit_code = True, 1
            return
        lived = time.monotonic() - (live.live_since or time.monotonic())
        if lived >= STABLE_AFTER:
            self.streak = 0
        delay = restart_delay(self.streak)
        self.streak += 1
        self.previous = {
            "pid": live.pid,
            "generation": live.generation,
            "returncode": code,
            "exit": how,
            "died_at": self.clock.now().timestamp(),
            "delay": delay,
        }
        self.restarts += 1
        log.warning("the agent (pid %d) %s; restarting in %.1fs", live.pid, how, delay)
        self.restart_at = time.monotonic() + delay

    def _due(self) -> None:
        now = time.monotonic()
        if self.live is None and self.restart_at is not None and now >= self.restart_at:
            self.restart_at = None
            agent, self.reserve = self.reserve, None
            if agent is None or agent.process.poll() is not None:
                agent = self._spawn()
            self.live = agent
            self._go(agent)
            self._write_state()
            if self.keep_reserve:
                self.reserve_at = now + RESERVE_AFTER
        if self.reserve is None and self.reserve_at is not None and now >= self.reserve_at:
            self.reserve_at = None
            if self.live is not None:
                self.reserve = self._spawn()
                self._write_state()
                if self.live.serving:
                    self.reserve_streak = 0

    def _forget_channel(self, agent: _Agent) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(agent.channel)
        agent.channel.close()

    def _stop_all(self) -> None:
        """SIGTERM every agent (the live one stops its replicas gracefully), wait, SIGKILL what
        is left; then let the sockets go."""
        agents = [a for a in (self.live, self.reserve) if a is not None]
        for agent in agents:
            if agent.process.poll() is None:
                agent.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for agent in agents:
            try:
                agent.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("the agent (pid %d) did not stop; sending SIGKILL", agent.pid)
                agent.process.kill()
                agent.process.wait()
            self._forget_channel(agent)
        for sock in self.sockets.values():
            sock.close()
        self.sockets.clear()
        (self.state_dir / SUPERVISOR_FILE).unlink(missing_ok=True)

    def _write_state(self) -> None:
        """``supervisor.json``: who supervises, which agent is live, how often it restarted."""
        data = {
            "pid": os.getpid(),
            "agent_pid": self.live.pid if self.live else None,
            "reserve_pid": self.reserve.pid if self.reserve else None,
            "reserve_ready": bool(self.reserve and self.reserve.standing_by),
            "generation": self.generation,
            "restarts": self.restarts,
            "last_restart": self.previous,
        }
        path = self.state_dir / SUPERVISOR_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data) + "\n")
        tmp.replace(path)


def _saved_listeners(path: Path) -> dict[str, int]:
    """``ENVIRONMENT/SERVICE`` → port, from routes.json (version 2: per environment). A file
    from before environments is skipped: its environment's name is in roost.yaml, which this
    process does not read, so the agent binds those listeners itself, once."""
    try:
        saved = json.loads(path.read_text())
        environments = saved.get("environments", {}) if saved.get("version") == 2 else {}
        # Only what the agent itself would accept (see roost.agent.routes_file): a port out of
        # range would end this process with an OverflowError, not an OSError.
        return {
            f"{env}/{service}": port
            for env, scope in environments.items()
            for service, port in scope.get("listen", {}).items()
            if isinstance(port, int) and not isinstance(port, bool) and 0 < port <= 65535
        }
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m roost.agent.supervising")
    parser.add_argument("--project", required=True, type=Path, help="The project's root folder.")
    parser.add_argument("--api-port", type=int, default=0, help="The agent API's port (0: any).")
    parser.add_argument(
        "--no-reserve",
        action="store_true",
        default=os.environ.get(RESERVE_ENV, "1") == "0",
        help=f"Keep no reserve agent (saves its memory; a restart then starts cold). "
        f"Also {RESERVE_ENV}=0.",
    )
    # For tests of the supervisor itself: a stand-in agent speaking the hand-over protocol.
    parser.add_argument("--agent-command", type=json.loads, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s supervisor %(levelname)s %(message)s"
    )
    # Started by `roost up` it inherits roost's private umask; started any other way it must
    # not write the routes, runtime state and logs readable by other users.
    keep_files_private()
    root = args.project.resolve()
    (root / ".roost" / "agent").mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        supervisor = Supervisor(
            root, api_port=args.api_port, reserve=not args.no_reserve, command=args.agent_command
        )
        return supervisor.run()
    except OSError as exc:
        log.error("cannot supervise the agent: %s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
