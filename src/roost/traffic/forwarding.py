"""Forwarding one request: pick a revision and a replica, stream the request up and the
response back, record what happened.

What the proxy answers itself, and what it records (``revision`` label, status):

==========================================  =====  ======================================
situation                                   reply  recorded as
==========================================  =====  ======================================
``x-roost-revision`` names no revision      404    ``(none)``, 404
no weighted revision has a ready replica    503    ``(none)``, error
the chosen revision has no ready replica    503    that revision, error
no replica of it accepts a connection       502    that revision, error
the replica does not answer in time         504    that revision, error
the replica breaks off mid-response         (cut)  that revision, error
the client goes away before a response      —      that revision, 499 (not a failure)
the client goes away during the response    —      that revision, the backend's status
upgrade (WebSocket) or CONNECT              501    ``(none)``, 501
bytes that are not HTTP/1.x                 400    not recorded (no request to count)
==========================================  =====  ======================================

Retrying is deliberately narrow. A connect failure (refused, timeout) moves on to the next
ready replica, because nothing was sent. A pooled connection that turns out closed before any
response byte is retried once on a fresh connection only for a bodiless GET/HEAD/OPTIONS: the
backend most likely closed it while idle, but it *might* have received the request, so a
request that changes something is never sent twice.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, Final

from roost.clock import Clock
from roost.telemetry import NO_RESPONSE, Recorder
from roost.traffic._connection import HttpConnection
from roost.traffic._wire import (
    CONTINUE,
    END,
    LAST_CHUNK,
    REASONS,
    REVISION_HEADER,
    BadMessage,
    Head,
    IncompleteMessage,
    chunk,
    local_response,
    request_head,
    response_head,
)
from roost.traffic.pooling import UpstreamConnection, UpstreamPool
from roost.traffic.routes import Endpoint, RevisionRoute
from roost.traffic.routing import EmbeddedRouter

#: The revision label of requests that were never routed to a revision.
UNROUTED: Final = "(none)"
#: Recorded for a request whose client left before the response (nginx's convention).
CLIENT_CLOSED: Final = 499
_REPLAYABLE: Final = frozenset({b"GET", b"HEAD", b"OPTIONS"})
_FLUSH_AT: Final = 64 * 1024
_JSON: Final = b"application/json"


class _ClientGone(Exception):
    """The client closed its connection or stopped sending."""


class _UpstreamFailed(Exception):
    """The replica failed; ``status`` is what to answer if nothing was sent yet."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _NoAnswer(_UpstreamFailed):
    """The connection failed before a single response byte: possibly closed while idle."""


@dataclass(slots=True)
class _Exchange:
    """One request in progress, as seen from the client side."""

    head: Head
    client: HttpConnection
    client_ip: str | None
    closing: bool


class Forwarder:
    """Forwards the requests of one service. Shared by all of its client connections."""

    def __init__(
        self,
        service: str,
        *,
        router: EmbeddedRouter,
        pool: UpstreamPool,
        recorder: Recorder,
        rng: random.Random,
        clock: Clock,
        upstream_timeout: float,
        client_timeout: float,
    ) -> None:
        self.service = service
        self._router = router
        self._pool = pool
        self._recorder = recorder
        self._rng = rng
        self._clock = clock
        self._upstream_timeout = upstream_timeout
        self._client_timeout = client_timeout

    async def handle(
        self,
        head: Head,
        client: HttpConnection,
        *,
        closing: bool,
    ) -> bool:
        """Answer one request whose head was just read; ``True`` if the client connection
        may carry another request."""
        ex = _Exchange(head, client, client.peer_ip, closing)
        service = self.service
        if head.upgrade or head.method == b"CONNECT":
            message = "the embedded proxy does not support protocol upgrades or CONNECT"
            return await self._reply(ex, 501, {"error": message}, UNROUTED, 501, close=True)
        routes = self._router.current(service)
        wanted = head.get(REVISION_HEADER)
        route: RevisionRoute | None
        if wanted is not None:
            name = wanted.decode("latin-1").strip()
            route = routes.revisions.get(name)
            if route is None:
                body: dict[str, Any] = {
                    "error": f'unknown revision "{name}"',
                    "service": service,
                    "revisions": sorted(routes.revisions),
                }
                return await self._reply(ex, 404, body, UNROUTED, 404)
        else:
            route = routes.pick(self._rng.random())
            if route is None:
                body = {
                    "error": f'no ready endpoints for service "{service}"',
                    "service": service,
                    "revisions": {
                        n: {"weight": r.weight, "ready": len(r.endpoints)}
                        for n, r in sorted(routes.revisions.items())
                    },
                }
                return await self._reply(ex, 503, body, UNROUTED, NO_RESPONSE)
        if not route.endpoints:
            body = {
                "error": f'revision "{route.name}" of service "{service}" has no ready endpoints',
                "service": service,
                "revision": route.name,
            }
            return await self._reply(ex, 503, body, route.name, NO_RESPONSE)
        return await self._forward(ex, route)

    async def _reply(
        self,
        ex: _Exchange,
        status: int,
        payload: dict[str, Any],
        revision: str,
        recorded: int,
        *,
        close: bool = False,
    ) -> bool:
        head = ex.head
        # An unread request body would be taken for the next request: close instead.
        close = close or head.has_body or not head.keep_alive or ex.closing
        reason = REASONS.get(status, "Error")
        body = json.dumps(payload).encode() + b"\n"
        try:
            ex.client.write(local_response(status, reason, body, content_type=_JSON, close=close))
            await ex.client.drain()
        finally:
            self._record(ex, revision, recorded)
        return not close

    def _record(self, ex: _Exchange, revision: str, status: int) -> None:
        latency = self._clock.monotonic() - ex.head.began_at
        self._recorder.observe(self.service, revision, status, latency)

    async def _forward(self, ex: _Exchange, route: RevisionRoute) -> bool:
        revision = route.name
        try:
            conn, response = await self._open(ex, route)
        except _UpstreamFailed as exc:
            body = {"error": str(exc), "service": self.service, "revision": revision}
            return await self._reply(ex, exc.status, body, revision, NO_RESPONSE)
        except _ClientGone:
            self._record(ex, revision, CLIENT_CLOSED)
            return False
        try:
            return await self._respond(ex, revision, conn, response)
        finally:
            self._router.request_finished(self.service, revision, conn.endpoint)

    async def _open(self, ex: _Exchange, route: RevisionRoute) -> tuple[UpstreamConnection, Head]:
        """Connect (moving on past replicas that refuse), send the request, read the response
        head. On success the request counts as in flight on the returned connection."""
        endpoints = route.endpoints
        first = self._router.next_index(self.service, route.name)
        replayable = not ex.head.has_body and ex.head.method in _REPLAYABLE
        failures: list[str] = []
        for step in range(len(endpoints)):
            endpoint = endpoints[(first + step) % len(endpoints)]
            fresh = False
            while True:
                conn = await self._connect(endpoint, route.name, fresh, failures)
                if conn is None:
                    break
                try:
                    await self._send(ex, conn)
                    response = await self._response_head(conn)
                except BaseException as exc:
                    conn.abort()
                    self._pool.release(conn, reuse=False)
                    self._router.request_finished(self.service, route.name, endpoint)
                    if isinstance(exc, _NoAnswer) and conn.reused and replayable and not fresh:
                        fresh = True  # most likely closed while idle: once more, new socket
                        continue
                    raise
                return conn, response
        raise _UpstreamFailed(
            502,
            f'could not connect to any ready endpoint of revision "{route.name}": '
            + "; ".join(failures),
        )

    async def _connect(
        self, endpoint: Endpoint, revision: str, fresh: bool, failures: list[str]
    ) -> UpstreamConnection | None:
        self._router.request_started(self.service, revision, endpoint)
        try:
            return await self._pool.acquire(endpoint, fresh=fresh)
        except (OSError, TimeoutError) as exc:
            self._router.request_finished(self.service, revision, endpoint)
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else None
            failures.append(f"{endpoint}: {why or 'connect timed out'}")
            return None

    async def _send(self, ex: _Exchange, conn: UpstreamConnection) -> None:
        """Stream the request to ``conn``: the head, then the body as it arrives."""
        head, client, up = ex.head, ex.client, conn.http
        out = bytearray(
            request_head(head, client_ip=ex.client_ip, host=str(conn.endpoint).encode())
        )
        if not head.has_body:
            try:
                up.write(out)
            except ConnectionError as exc:
                raise _NoAnswer(502, f"{conn.endpoint} closed the connection: {exc}") from exc
            return
        expect = head.get(b"expect")
        if expect is not None and expect.lower() == b"100-continue":
            try:
                client.write(CONTINUE)
            except ConnectionError as exc:
                raise _ClientGone from exc
        done = False
        while not done:
            try:
                event = await client.next(None if client.pending else self._client_timeout)
            except (ConnectionError, TimeoutError) as exc:
                raise _ClientGone from exc
            if event is END:
                done = True
                if head.chunked:
                    out += LAST_CHUNK
            elif isinstance(event, bytes):
                out += chunk(event) if head.chunked else event
            if done or not client.pending or len(out) >= _FLUSH_AT:
                try:
                    up.write(out)
                    out = bytearray()  # a new buffer: the transport may still hold the old
                    if up.write_paused:
                        await up.drain()
                except ConnectionError as exc:
                    raise _UpstreamFailed(502, f"{conn.endpoint} broke off: {exc}") from exc

    async def _response_head(self, conn: UpstreamConnection) -> Head:
        """Read the final response head (interim 1xx responses are skipped)."""
        upstream = conn.http
        timeout = self._upstream_timeout
        try:
            event = await upstream.next(timeout)
            while isinstance(event, Head) and 100 <= event.status < 200:
                if event.status == 101:
                    raise _UpstreamFailed(502, f"{conn.endpoint} switched protocols unasked")
                await upstream.next(timeout)  # the interim response's end
                event = await upstream.next(timeout)
        except TimeoutError as exc:
            message = f"{conn.endpoint} did not answer within {timeout:g}s"
            raise _UpstreamFailed(504, message) from exc
        except IncompleteMessage as exc:
            raise _UpstreamFailed(502, f"{conn.endpoint} broke off its response") from exc
        except ConnectionError as exc:
            raise _NoAnswer(502, f"{conn.endpoint} closed the connection: {exc}") from exc
        except BadMessage as exc:
            raise _UpstreamFailed(502, f"{conn.endpoint} sent an invalid response: {exc}") from exc
        if event is None:
            raise _NoAnswer(502, f"{conn.endpoint} closed the connection without answering")
        if not isinstance(event, Head):
            raise _UpstreamFailed(502, f"{conn.endpoint} sent an invalid response")
        return event

    async def _respond(
        self,
        ex: _Exchange,
        revision: str,
        conn: UpstreamConnection,
        response: Head,
    ) -> bool:
        """Stream the response to the client; ``True`` if the client may send another."""
        head = ex.head
        client_11 = head.version == "1.1"
        bodiless = head.method == b"HEAD" or response.status in (204, 304)
        until_close = response.length is None and not response.chunked
        chunked_out: bool | None = None  # None: keep the upstream's framing headers
        if not bodiless and (response.chunked or until_close):
            # Re-chunk for HTTP/1.1 clients so the client connection survives a response
            # that the backend delimited by closing; HTTP/1.0 clients get it raw, then close.
            chunked_out = client_11
        keep_client = head.keep_alive and client_11 and not ex.closing
        reuse = response.keep_alive and (bodiless or not until_close)
        out = bytearray(
            response_head(
                response, revision=revision.encode(), chunked=chunked_out, close=not keep_client
            )
        )
        if head.method == b"HEAD":
            conn.http.end_without_body()
        try:
            await self._stream_body(ex, conn.http, out, chunked_out, done=head.method == b"HEAD")
        except _UpstreamFailed:
            # The status line is already on its way: all we can do is cut the client off, so
            # it sees a truncated response rather than a complete-looking wrong one.
            conn.abort()
            self._pool.release(conn, reuse=False)
            ex.client.abort()
            self._record(ex, revision, NO_RESPONSE)
            return False
        except _ClientGone:
            conn.abort()
            self._pool.release(conn, reuse=False)
            self._record(ex, revision, response.status)
            return False
        except BaseException:
            conn.abort()
            self._pool.release(conn, reuse=False)
            raise
        self._pool.release(conn, reuse=reuse)
        self._record(ex, revision, response.status)
        return keep_client

    async def _stream_body(
        self,
        ex: _Exchange,
        upstream: HttpConnection,
        out: bytearray,
        chunked_out: bool | None,
        *,
        done: bool,
    ) -> None:
        """Pass body pieces on as they arrive; write whenever nothing more is buffered."""
        client = ex.client
        while True:
            if not done:
                try:
                    event = await upstream.next(
                        None if upstream.pending else self._upstream_timeout
                    )
                except (ConnectionError, TimeoutError, BadMessage) as exc:
                    raise _UpstreamFailed(502, str(exc)) from exc
                if event is END:
                    done = True
                    if chunked_out:
                        out += LAST_CHUNK
                elif isinstance(event, bytes):
                    out += chunk(event) if chunked_out else event
                else:
                    raise _UpstreamFailed(502, "unexpected event in a response body")
            if done or not upstream.pending or len(out) >= _FLUSH_AT:
                try:
                    client.write(out)
                    out = bytearray()
                    if client.write_paused:
                        await client.drain()
                except ConnectionError as exc:
                    raise _ClientGone from exc
            if done:
                return
