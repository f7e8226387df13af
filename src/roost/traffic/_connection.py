"""One HTTP/1.x connection as an asyncio protocol, read as a stream of events.

httptools pushes callbacks as bytes arrive; :class:`HttpConnection` queues them as events — a
head, body pieces, the end — that the proxy's per-connection coroutine pulls with
:meth:`~HttpConnection.next`, so forwarding reads like straight-line code.

Why a protocol and not asyncio streams: on the proxy's hot path the StreamReader layer, a
``drain()`` coroutine per write and an ``asyncio.timeout`` per read cost about as much as the
rest of the proxy put together. Here data goes straight from ``data_received`` into the parser,
a write awaits only while the transport has asked us to pause, and a read timeout is a
deadline that one lazily re-armed timer per connection enforces.

Backpressure: when more than :data:`HIGH_WATER` bytes of body are queued and not yet pulled,
reading from the socket pauses until the consumer catches up, so a fast sender cannot make the
proxy buffer a whole body; writes wait while the peer's transport buffer is full.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final, cast

import httptools

from roost.traffic._wire import END, HOP_BY_HOP, BadMessage, Event, Head, IncompleteMessage

#: Queued body bytes above which reading from the socket pauses.
HIGH_WATER: Final = 256 * 1024


class HttpConnection(asyncio.Protocol):
    """A request (server side) or response (upstream side) connection."""

    def __init__(
        self,
        *,
        response: bool,
        now: Callable[[], float],
        on_made: Callable[[HttpConnection], None] | None = None,
    ) -> None:
        self._response = response
        self._now = now
        self._on_made = on_made
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._parser = self._new_parser()
        self._events: deque[Event] = deque()
        self._queued = 0  # body bytes in _events
        self._reading_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._eof = False
        self._lost = False
        self._error: Exception | None = None
        self._in_message = False
        self._until_close = False
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._began_at = 0.0
        self._reason = b""
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    def _new_parser(self) -> httptools.HttpRequestParser | httptools.HttpResponseParser:
        if self._response:
            return httptools.HttpResponseParser(self)
        return httptools.HttpRequestParser(self)

    # -- asyncio protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, hence the cast.
        self._transport = cast(asyncio.Transport, transport)
        if self._on_made is not None:
            self._on_made(self)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # The head (upgrade=True) is queued; upgrades are refused and the connection
            # closed, so the bytes after it are never looked at.
            pass
        except httptools.HttpParserError as exc:
            self._error = BadMessage(str(exc) or type(exc).__name__)
        if self._queued > HIGH_WATER and not self._reading_paused and self._transport:
            self._reading_paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return True  # stay half-open: a response may still have to be written

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = self._lost = True
        if exc is not None and self._error is None:
            self._error = exc if isinstance(exc, ConnectionError) else ConnectionResetError(exc)
        self._wake()
        drain = self._drain_waiter
        if drain is not None and not drain.done():
            drain.set_exception(ConnectionResetError("the connection was lost"))
        if not self._closed.done():
            self._closed.set_result(None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_message = True
        self._url = b""
        self._headers = []
        self._began_at = self._now()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_status(self, status: bytes) -> None:
        self._reason = status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        head = Head(
            parser.get_http_version(),
            self._headers,
            parser.should_keep_alive(),
            self._began_at,
            hop=HOP_BY_HOP,
        )
        for name, value in self._headers:
            key = name.lower()
            if key == b"content-length":
                head.length = int(value)  # llhttp has validated it
            elif key == b"transfer-encoding":
                head.chunked = value.rstrip().lower().endswith(b"chunked")
            elif key == b"connection":
                # Headers named in Connection are hop-by-hop too (RFC 9110 §7.6.1).
                head.hop = head.hop | {t.strip().lower() for t in value.split(b",")}
        if isinstance(parser, httptools.HttpResponseParser):
            head.status = parser.get_status_code()
            head.reason = self._reason
            self._until_close = (
                head.length is None
                and not head.chunked
                and head.status >= 200
                and head.status not in (204, 304)
            )
        else:
            head.method = parser.get_method()
            head.target = self._url
            head.upgrade = parser.should_upgrade()
        self._events.append(head)

    def on_body(self, body: bytes) -> None:
        self._queued += len(body)
        self._events.append(body)

    def on_message_complete(self) -> None:
        self._in_message = self._until_close = False
        self._events.append(END)

    # -- reading ---------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """Whether an event is ready without waiting for the socket."""
        return bool(self._events)

    async def next(self, timeout: float | None = None) -> Event | None:
        """The next event; ``None`` when the peer closed cleanly between messages.

        Raises :class:`TimeoutError` if nothing arrives within ``timeout`` seconds,
        :class:`BadMessage` for garbage, :class:`IncompleteMessage` for a message cut off by
        the peer closing, and :class:`ConnectionError` when the connection broke.
        """
        events = self._events
        while not events:
            if self._error is not None:
                raise self._error
            if self._eof:
                if not self._in_message:
                    return None
                if self._until_close:  # a body delimited by the connection closing
                    self._in_message = self._until_close = False
                    return END
                raise IncompleteMessage("the connection closed in the middle of a message")
            if self._reading_paused and self._transport is not None:
                self._reading_paused = False
                self._transport.resume_reading()
            waiter = self._waiter = self._loop.create_future()
            if timeout is not None:
                self._arm(timeout)
            try:
                await waiter
            finally:
                self._waiter = None
                self._deadline = None
        event = events.popleft()
        if isinstance(event, bytes):
            self._queued -= len(event)
        return event

    def _arm(self, timeout: float) -> None:
        # One timer per connection, re-armed lazily: most reads finish long before their
        # deadline, and moving a deadline is then just an assignment.
        self._deadline = deadline = self._loop.time() + timeout
        if self._timer is None or self._timer.when() > deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None or self._lost:
            return
        if self._loop.time() < deadline:
            self._timer = self._loop.call_at(deadline, self._on_timer)
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(TimeoutError("read timed out"))

    def end_without_body(self) -> None:
        """The message whose head was just read has no body whatever its headers say: the
        response to a HEAD request. llhttp cannot be told that, so start a fresh parser."""
        self._events.clear()
        self._queued = 0
        self._parser = self._new_parser()
        self._in_message = self._until_close = False

    # -- writing and closing ---------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Open in both directions, with nothing unexpected received (for reuse)."""
        return not (self._eof or self._lost or self._events or self._error) and bool(
            self._transport and not self._transport.is_closing()
        )

    @property
    def closing(self) -> bool:
        """Closed or closing: writes would go nowhere."""
        return self._lost or self._transport is None or self._transport.is_closing()

    @property
    def peer_ip(self) -> str | None:
        """The peer's IP address, if it has one."""
        peer = self._transport.get_extra_info("peername") if self._transport else None
        return str(peer[0]) if isinstance(peer, tuple) and peer else None

    def write(self, data: bytes | bytearray) -> None:
        """Queue ``data`` for sending; raises :class:`ConnectionResetError` once closed."""
        if self.closing:
            raise ConnectionResetError("the connection is closed")
        assert self._transport is not None
        self._transport.write(data)

    @property
    def write_paused(self) -> bool:
        """The peer is not keeping up: await :meth:`drain` before writing more."""
        return self._write_paused

    async def drain(self) -> None:
        """Wait until the transport wants data again (returns at once if it does)."""
        if self._lost:
            raise ConnectionResetError("the connection was lost")
        if not self._write_paused:
            return
        waiter = self._drain_waiter = self._loop.create_future()
        try:
            await waiter
        finally:
            self._drain_waiter = None

    def close(self) -> None:
        """Close after sending what is queued."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def abort(self) -> None:
        """Close at once, dropping anything unsent."""
        if self._transport is not None:
            self._transport.abort()

    async def wait_closed(self) -> None:
        """Wait until the connection is fully closed."""
        await asyncio.shield(self._closed)


async def open_connection(
    host: str, port: int, *, now: Callable[[], float], timeout: float
) -> HttpConnection:
    """Connect to an upstream; raises :class:`OSError` or :class:`TimeoutError`."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        _, conn = await loop.create_connection(
            lambda: HttpConnection(response=True, now=now), host, port
        )
    return conn
