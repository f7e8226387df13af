"""The built-in reverse proxy: one HTTP/1.1 listener per service."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
from dataclasses import dataclass

from roost.clock import Clock, RealClock
from roost.telemetry import Recorder
from roost.traffic._connection import HttpConnection
from roost.traffic._wire import END, BadMessage, Head, local_response
from roost.traffic.forwarding import Forwarder
from roost.traffic.pooling import UpstreamPool
from roost.traffic.routing import EmbeddedRouter

_log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Client:
    conn: HttpConnection
    idle: bool = True


class EmbeddedProxy:
    """Splits one service's HTTP traffic across its revisions by weight.

    Per request: a revision by weighted random choice (or the one named by the
    ``x-roost-revision`` header), then the next *ready* endpoint of it in round-robin order.
    Bodies stream both ways; connections are kept alive on both sides; every request is
    recorded in the :class:`~roost.telemetry.Recorder`. Responses carry ``x-roost-revision``.
    See :mod:`roost.traffic.forwarding` for what the proxy answers itself and when it retries.

    The proxy only *reads* routing state, from its :class:`EmbeddedRouter`, which the control
    plane (through the agent) updates; it keeps serving with the last table it was given if the
    control plane goes away.

    ``rng`` drives the weighted choice (seed it for reproducible splits); ``clock`` measures
    each request's latency and stamps its record. Timeouts are in seconds of the event loop:
    ``connect_timeout`` per connection attempt, ``upstream_timeout`` for each wait on a
    replica's response, ``client_timeout`` for an idle or slow client,
    ``upstream_idle_timeout`` for pooled keep-alive connections.
    """

    def __init__(
        self,
        service: str,
        *,
        router: EmbeddedRouter | None = None,
        recorder: Recorder | None = None,
        rng: random.Random | None = None,
        clock: Clock | None = None,
        connect_timeout: float = 1.0,
        upstream_timeout: float = 60.0,
        client_timeout: float = 75.0,
        upstream_idle_timeout: float = 4.0,
    ) -> None:
        self.service = service
        self.router = router if router is not None else EmbeddedRouter()
        self.recorder = recorder if recorder is not None else Recorder(clock=clock)
        self._clock: Clock = clock if clock is not None else RealClock()
        self.pool = UpstreamPool(
            now=self._clock.monotonic,
            connect_timeout=connect_timeout,
            idle_timeout=upstream_idle_timeout,
        )
        self._client_timeout = client_timeout
        self._forwarder = Forwarder(
            service,
            router=self.router,
            pool=self.pool,
            recorder=self.recorder,
            # Routing needs an even spread, not unpredictability.
            rng=rng if rng is not None else random.Random(),  # noqa: S311
            clock=self._clock,
            upstream_timeout=upstream_timeout,
            client_timeout=client_timeout,
        )
        self._server: asyncio.Server | None = None
        self._clients: dict[asyncio.Task[None], _Client] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._closing = False
        self._port: int | None = None

    @property
    def port(self) -> int | None:
        """The bound port once started."""
        return self._port

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, sock: socket.socket | None = None
    ) -> int:
        """Listen on ``host:port`` (0: any free port), or accept on ``sock``, a listening socket
        made elsewhere (one that outlives this process: see ``roost.agent.handover``); returns
        the bound port.

        Raises :class:`OSError` if the address cannot be bound (port in use).
        """
        if self._server is not None:
            raise RuntimeError(f"the proxy for {self.service!r} is already started")
        loop = asyncio.get_running_loop()
        now = self._clock.monotonic

        def factory() -> HttpConnection:
            return HttpConnection(response=False, now=now, on_made=self._accepted)

        if sock is not None:
            self._server = await loop.create_server(factory, sock=sock, backlog=1024)
        else:
            self._server = await loop.create_server(
                factory, host, port, reuse_address=True, backlog=1024
            )
        self._port = int(self._server.sockets[0].getsockname()[1])
        self._sweeper = asyncio.create_task(self._sweep_forever())
        return self._port

    async def drain(self, revision: str, *, timeout: float = 30.0) -> bool:
        """Stop routing to ``revision`` and wait up to ``timeout`` s for its requests in
        flight (see :meth:`EmbeddedRouter.drain`); ``True`` when none are left."""
        return await self.router.drain(self.service, revision, timeout=timeout)

    async def stop(self, *, grace: float = 5.0) -> None:
        """Stop accepting, let requests in flight finish for up to ``grace`` seconds, then
        close everything. Idle keep-alive connections are closed at once."""
        if self._server is None:
            return
        self._closing = True
        self._server.close()
        for client in self._clients.values():
            if client.idle:
                client.conn.close()
        tasks = list(self._clients)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await self.pool.close()
        await self._server.wait_closed()
        self._server = None

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.pool.sweep()

    def _accepted(self, conn: HttpConnection) -> None:
        if self._closing:
            conn.abort()
            return
        task = asyncio.get_running_loop().create_task(self._serve(conn))
        self._clients[task] = _Client(conn)

    async def _serve(self, stream: HttpConnection) -> None:
        task = asyncio.current_task()
        assert task is not None
        client = self._clients[task]
        try:
            while not self._closing:
                client.idle = True
                head = await stream.next(None if stream.pending else self._client_timeout)
                if head is END:
                    continue  # the end of a bodiless request already answered
                client.idle = False
                if not isinstance(head, Head):
                    break  # None: the client closed between requests
                keep = await self._forwarder.handle(head, stream, closing=self._closing)
                if not keep:
                    break
        except BadMessage as exc:
            body = json.dumps({"error": f"bad request: {exc}"}).encode() + b"\n"
            reply = local_response(
                400, "Bad Request", body, content_type=b"application/json", close=True
            )
            with contextlib.suppress(ConnectionError):
                stream.write(reply)
        except (ConnectionError, TimeoutError):
            pass  # the client went away or idled out: nothing to answer
        except Exception:
            _log.exception("proxy for %s: unexpected error on a client connection", self.service)
        finally:
            del self._clients[task]
            stream.close()
            with contextlib.suppress(OSError):
                await stream.wait_closed()

    def __repr__(self) -> str:
        state = "stopped" if self._server is None else f"port={self._port}"
        return (
            f"EmbeddedProxy(service={self.service!r}, {state}, clients={len(self._clients)}, "
            f"pool={self.pool!r})"
        )
