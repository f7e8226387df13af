"""Real HTTP backends for the proxy tests.

A :class:`Backend` is a small asyncio HTTP/1.1 server built on h11 — an HTTP implementation
independent of the proxy's (httptools) — that answers with its revision name and counts the
connections and requests it sees. Special paths:

* ``/chunks?n=N``   — a chunked response of N chunks; after the first it waits until the
  test calls ``release()`` (or 10 s), so a test can prove the first chunk arrived before the
  rest was even sent.
* ``/echo``         — reads the request body and answers its size and sha256; after the first
  64 KiB it sets ``got_first_part`` so a client can prove the body is streamed, not buffered.
* ``/slow?s=SEC``   — answers after SEC seconds.
* ``/status/CODE``  — answers CODE.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11
import httpx
import pytest
import uvloop

from roost.telemetry import Recorder
from roost.traffic import EmbeddedProxy, EmbeddedRouter, Endpoint


class Backend:
    def __init__(self, name: str) -> None:
        self.name = name
        self.connections = 0
        self.requests = 0
        self.port = 0
        self.got_first_part = asyncio.Event()
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint("127.0.0.1", self.port)

    def release(self) -> None:
        self._release.set()

    async def __aenter__(self) -> Backend:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = await self._next(conn, reader)
                if isinstance(event, h11.ConnectionClosed) or event is None:
                    break
                assert isinstance(event, h11.Request)
                self.requests += 1
                await self._answer(conn, reader, writer, event)
                if conn.our_state is h11.MUST_CLOSE:
                    break
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _next(self, conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65536))
                continue
            return event

    async def _answer(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: h11.Request,
    ) -> None:
        url = urlsplit(request.target.decode())
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        digest = hashlib.sha256()
        size = 0
        while True:
            event = await self._next(conn, reader)
            if isinstance(event, h11.EndOfMessage):
                break
            assert isinstance(event, h11.Data), event
            digest.update(event.data)
            size += len(event.data)
            if size >= 64 * 1024:
                self.got_first_part.set()
        headers = [(b"x-backend", self.name.encode())]

        def send(event: Any) -> None:
            writer.write(conn.send(event))

        if url.path == "/chunks":
            send(h11.Response(status_code=200, headers=headers))
            send(h11.Data(data=b"first;"))
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), 10)
            for i in range(1, int(query.get("n", "3"))):
                send(h11.Data(data=f"chunk{i};".encode()))
                await writer.drain()
            send(h11.EndOfMessage())
        else:
            status = 200
            body = self.name.encode()
            if url.path == "/slow":
                await asyncio.sleep(float(query.get("s", "0.5")))
            elif url.path.startswith("/status/"):
                status = int(url.path.rsplit("/", 1)[1])
            elif url.path == "/echo":
                body = f"{size} {digest.hexdigest()}".encode()
            headers.append((b"content-length", str(len(body)).encode()))
            send(h11.Response(status_code=status, headers=headers))
            if request.method != b"HEAD":
                send(h11.Data(data=body))
            send(h11.EndOfMessage())
        await writer.drain()


class Stack:
    """A proxy for service ``web`` with its router and recorder, and a client pointed at it."""

    def __init__(self, proxy: EmbeddedProxy, client: Any) -> None:
        self.proxy = proxy
        self.router: EmbeddedRouter = proxy.router
        self.recorder: Recorder = proxy.recorder
        self.client = client


@contextlib.asynccontextmanager
async def proxy_stack(**options: Any) -> AsyncIterator[Stack]:
    proxy = EmbeddedProxy("web", **options)
    port = await proxy.start()
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=20
        ) as client:
            yield Stack(proxy, client)
    finally:
        await proxy.stop(grace=1)


@pytest.fixture
def backend() -> type[Backend]:
    """The :class:`Backend` class (tests create them inside their event loop)."""
    return Backend


@pytest.fixture
def stack() -> Callable[..., contextlib.AbstractAsyncContextManager[Stack]]:
    """``async with stack(**proxy_options) as s:`` — a started proxy and an httpx client."""
    return proxy_stack


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, None]], None]:
    """Run a test coroutine on a fresh event loop, once with asyncio's and once with uvloop."""

    def runner(coro: Coroutine[Any, Any, None]) -> None:
        if request.param == "uvloop":
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
                r.run(coro)
        else:
            asyncio.run(coro)

    return runner
