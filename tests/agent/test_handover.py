"""The hand-over channel between the agent's supervisor and an agent: messages with listening
sockets attached, the agent's choice between an inherited socket and a new one, the restart
back-off and how an exit is described. Real sockets, no agent process."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator

import pytest

from roost.agent.handover import API, HandOver, bind_listener, listener_name, receive, send
from roost.agent.supervising import MAX_DELAY, describe_exit, restart_delay


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    yield a, b
    a.close()
    b.close()


def test_a_listening_socket_sent_over_the_channel_accepts_on_the_other_side(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    supervisor, agent = pair
    listener = bind_listener("127.0.0.1", 0)
    port = listener.getsockname()[1]
    send(supervisor, {"op": "go", "names": [API]}, [listener.fileno()])
    got = receive(agent)
    assert got is not None
    message, fds = got
    assert message == {"op": "go", "names": [API]}
    (fd,) = fds
    # Close-on-exec: a replica's shim, spawned by the agent, must not hold the socket.
    assert not os.get_inheritable(fd)
    received = socket.socket(fileno=fd)
    listener.close()  # the sender's copy may go: the socket lives on in the receiver's
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn, _ = received.accept()
    client.sendall(b"ping")
    assert conn.recv(4) == b"ping"
    for sock in (client, conn, received):
        sock.close()


def test_a_peer_that_went_away_reads_as_none(pair: tuple[socket.socket, socket.socket]) -> None:
    supervisor, agent = pair
    supervisor.close()
    assert receive(agent) is None


def test_the_agent_takes_an_inherited_listener_and_gives_new_ones_back(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    supervisor, agent = pair
    inherited = bind_listener("127.0.0.1", 0)
    port = inherited.getsockname()[1]
    handover = HandOver(channel=agent, sockets={listener_name("web"): inherited})
    assert handover.listener("web", "127.0.0.1", 0) is inherited  # any port: the inherited one
    new = handover.listener("api", "127.0.0.1", 0)  # none inherited: bound, and sent back
    got = receive(supervisor)
    assert got is not None
    message, fds = got
    assert message == {"op": "keep", "name": listener_name("api")}
    assert len(fds) == 1
    kept = socket.socket(fileno=fds[0])
    assert kept.getsockname() == new.getsockname()
    assert new.getsockname()[1] != port
    for sock in (inherited, new, kept):
        sock.close()


def test_an_inherited_listener_on_another_port_than_asked_is_not_used() -> None:
    inherited = bind_listener("127.0.0.1", 0)
    wanted = bind_listener("127.0.0.1", 0)
    port = wanted.getsockname()[1]
    wanted.close()
    handover = HandOver(sockets={listener_name("web"): inherited})
    sock = handover.listener("web", "127.0.0.1", port)
    assert sock.getsockname()[1] == port
    assert inherited.fileno() == -1  # closed: nobody would accept on it
    sock.close()


def test_unused_inherited_listeners_are_closed_and_dropped(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    supervisor, agent = pair
    gone = bind_listener("127.0.0.1", 0)
    handover = HandOver(channel=agent, sockets={listener_name("gone"): gone})
    handover.close_unused()
    assert gone.fileno() == -1
    got = receive(supervisor)
    assert got == ({"op": "drop", "name": listener_name("gone")}, [])


def test_an_unsupervised_agent_binds_and_tells_nobody() -> None:
    sock = HandOver().listener("web", "127.0.0.1", 0)
    assert sock.getsockname()[1] > 0
    sock.close()


def test_restarts_are_immediate_then_back_off_to_a_cap() -> None:
    assert restart_delay(0) == 0.0
    delays = [restart_delay(n) for n in range(1, 12)]
    assert delays[:3] == [0.5, 1.0, 2.0]
    assert delays == sorted(delays)
    assert delays[-1] == MAX_DELAY


def test_exits_are_described_by_signal_or_code() -> None:
    assert describe_exit(-signal.SIGKILL) == "killed by signal 9 (SIGKILL)"
    assert describe_exit(1) == "exited with code 1"
