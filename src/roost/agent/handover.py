"""Listening sockets handed from the agent's supervisor to each agent generation, and back.

The supervisor (:mod:`roost.agent.supervising`) and one agent process talk over a
``SOCK_SEQPACKET`` socket pair (each message is one JSON object, optionally with file
descriptors attached by ``SCM_RIGHTS``):

* supervisor → agent, once: ``{"op": "go", "names": [...], "previous": {...}}`` with one
  listening socket per name (``api`` for the agent's HTTP API, ``listener:SERVICE`` per
  service). An agent waits for it before it serves: that is what lets the supervisor keep an
  idle, fully imported agent in reserve and make it the live one the moment the live one dies.
* agent → supervisor: ``{"op": "standby"}`` once it is imported and waiting for ``go``;
  ``{"op": "keep", "name": "listener:SERVICE"}`` with the socket, whenever
  the agent binds a new listener, so that the supervisor holds a copy of every socket the
  router listens on; ``{"op": "serving"}`` once the agent answers.

Because the supervisor holds a copy, a listening socket outlives any agent process: while no
agent runs, the kernel completes TCP handshakes and queues the connections (up to the backlog)
instead of refusing them, and the next agent accepts them. Stdlib only: the supervisor imports
this module, and it must stay small.
"""

from __future__ import annotations

import array
import contextlib
import json
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

CHANNEL_ENV = "ROOST_AGENT_CHANNEL_FD"
"""Names the file descriptor of the agent's end of the channel (set by the supervisor)."""
API = "api"
LISTENER_PREFIX = "listener:"
MAX_MESSAGE = 64 * 1024
MAX_FDS = 256


def listener_name(service: str) -> str:
    return f"{LISTENER_PREFIX}{service}"


def send(channel: socket.socket, message: Mapping[str, Any], fds: Sequence[int] = ()) -> None:
    """Send one message (with ``fds`` attached)."""
    data = json.dumps(dict(message)).encode()
    if fds:
        socket.send_fds(channel, [data], list(fds))
    else:
        channel.send(data)


def receive(channel: socket.socket) -> tuple[dict[str, Any], list[int]] | None:
    """One message and the descriptors that came with it; None when the peer has gone."""
    fds = array.array("i")
    data, ancillary, _flags, _addr = channel.recvmsg(
        MAX_MESSAGE,
        socket.CMSG_SPACE(MAX_FDS * fds.itemsize),
        getattr(socket, "MSG_CMSG_CLOEXEC", 0),
    )
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    for fd in fds:
        # Received descriptors are inheritable; the replicas' shims (posix_spawn keeps every
        # inheritable descriptor) must not hold a listening socket: one nobody accepts on.
        os.set_inheritable(fd, False)
    if not data:
        for fd in fds:
            os.close(fd)
        return None
    try:
        message = json.loads(data)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        for fd in fds:
            os.close(fd)
        log.warning("ignoring a malformed hand-over message")
        return {}, []
    return message, list(fds)


def bind_listener(host: str, port: int, *, backlog: int = 1024) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: any free port); raises ``OSError``."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class HandOver:
    """The agent's side: the sockets it was given, and the way to give new ones back.

    Without a channel (an agent run by hand or in a test) it simply binds; with one, every
    newly bound listener is also sent to the supervisor.
    """

    channel: socket.socket | None = None
    sockets: dict[str, socket.socket] = field(default_factory=dict)
    previous: dict[str, Any] | None = None
    """What the supervisor says about the generation this one replaces (None: the first)."""

    @classmethod
    def from_environment(cls) -> HandOver | None:
        """Wait for the supervisor's ``go`` when started by one; None when not supervised,
        or when the supervisor went away before saying go (then there is nothing to do)."""
        raw = os.environ.pop(CHANNEL_ENV, None)
        if raw is None:
            return None
        channel = socket.socket(fileno=int(raw))
        channel.set_inheritable(False)  # passed down to this process only, not to its children
        with contextlib.suppress(OSError):  # already gone: the receive below sees it
            send(channel, {"op": "standby"})
        while True:
            got = receive(channel)
            if got is None:
                channel.close()
                return None
            message, fds = got
            if message.get("op") != "go":
                continue
            names = [str(n) for n in message.get("names", [])]
            sockets = {name: socket.socket(fileno=fd) for name, fd in zip(names, fds, strict=False)}
            previous = message.get("previous")
            return cls(
                channel=channel,
                sockets=sockets,
                previous=previous if isinstance(previous, dict) else None,
            )

    def take(self, name: str) -> socket.socket | None:
        """The inherited socket called ``name`` (given once), if the supervisor had one."""
        return self.sockets.pop(name, None)

    def listener(self, service: str, host: str, port: int) -> socket.socket:
        """``service``'s listening socket: the inherited one when it listens on ``port`` (or
        any port, for ``port`` 0), else a new one, given to the supervisor to keep."""
        inherited = self.take(listener_name(service))
        if inherited is not None:
            if port in (0, inherited.getsockname()[1]):
                return inherited
            inherited.close()
        sock = bind_listener(host, port)
        self.tell({"op": "keep", "name": listener_name(service)}, [sock.fileno()])
        return sock

    def tell(self, message: Mapping[str, Any], fds: Sequence[int] = ()) -> None:
        """Tell the supervisor (if any); a supervisor that has gone is not the agent's problem:
        the data plane keeps running, it just will not be restarted."""
        if self.channel is None:
            return
        try:
            send(self.channel, message, fds)
        except OSError as exc:
            log.warning("the agent's supervisor did not get %s: %s", message.get("op"), exc)

    def close_unused(self) -> None:
        """Close inherited sockets nobody took (a service that is gone), and let the supervisor
        close its copies: a socket nobody will accept on must refuse, not queue."""
        for name, sock in self.sockets.items():
            sock.close()
            self.tell({"op": "drop", "name": name})
        self.sockets.clear()
