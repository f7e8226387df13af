"""Keep-alive connections to upstream replicas, reused across requests.

Opening a TCP connection per request would cost a handshake of latency and, under load, a
TIME_WAIT socket each; so the proxy keeps idle connections per endpoint and hands them out
most-recently-used first (the warmest socket, and the one least likely to have been closed by
the backend's own keep-alive timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from roost.traffic._connection import HttpConnection, open_connection
from roost.traffic.routes import Endpoint


@dataclass(eq=False)
class UpstreamConnection:
    """One connection to one replica."""

    endpoint: Endpoint
    http: HttpConnection
    #: Served a request before: if it fails before any response byte, the backend may simply
    #: have closed it while idle.
    reused: bool = False
    idle_since: float = field(default=0.0, repr=False)

    @property
    def usable(self) -> bool:
        """Still open as far as we can tell without a syscall."""
        return self.http.usable

    def abort(self) -> None:
        """Close at once, dropping anything unsent (the message on it is broken anyway)."""
        self.http.abort()


class UpstreamPool:
    """Idle upstream connections per endpoint.

    ``idle_timeout`` should stay below the backends' keep-alive timeout (uvicorn's default is
    5 s) so that the pool drops a connection before the backend does; a request that still
    meets a connection closed under it is retried by the proxy when that is safe.
    """

    def __init__(
        self,
        *,
        now: Callable[[], float],
        connect_timeout: float = 1.0,
        idle_timeout: float = 4.0,
        max_idle_per_endpoint: int = 64,
    ) -> None:
        self._now = now
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.max_idle_per_endpoint = max_idle_per_endpoint
        self._idle: dict[Endpoint, list[UpstreamConnection]] = {}
        self._busy: set[UpstreamConnection] = set()
        self._closed = False
        #: Connections opened so far (how well keep-alive works: compare with requests).
        self.opened = 0

    async def acquire(self, endpoint: Endpoint, *, fresh: bool = False) -> UpstreamConnection:
        """An idle connection to ``endpoint``, or a new one unless ``fresh`` forbids reuse.

        Raises :class:`OSError` or :class:`TimeoutError` when a new connection fails.
        """
        if self._closed:
            raise ConnectionError("the upstream pool is closed")
        loop = asyncio.get_running_loop()
        idle = self._idle.get(endpoint)
        if idle and not fresh:
            oldest_ok = loop.time() - self.idle_timeout
            while idle:
                conn = idle.pop()
                if conn.usable and conn.idle_since >= oldest_ok:
                    conn.reused = True
                    self._busy.add(conn)
                    return conn
                conn.http.close()
        http = await open_connection(
            endpoint.host, endpoint.port, now=self._now, timeout=self.connect_timeout
        )
        self.opened += 1
        conn = UpstreamConnection(endpoint, http)
        self._busy.add(conn)
        return conn

    def release(self, conn: UpstreamConnection, *, reuse: bool) -> None:
        """Give ``conn`` back: kept for reuse if ``reuse`` and still open, else closed."""
        self._busy.discard(conn)
        if not reuse or self._closed or not conn.usable:
            conn.http.close()
            return
        idle = self._idle.setdefault(conn.endpoint, [])
        if len(idle) >= self.max_idle_per_endpoint:
            conn.http.close()
            return
        conn.idle_since = asyncio.get_running_loop().time()
        idle.append(conn)

    def sweep(self) -> None:
        """Close connections idle past the timeout (the proxy calls this every second)."""
        oldest_ok = asyncio.get_running_loop().time() - self.idle_timeout
        for endpoint, idle in list(self._idle.items()):
            stale = 0  # each list is oldest first
            while stale < len(idle) and idle[stale].idle_since < oldest_ok:
                idle[stale].http.close()
                stale += 1
            del idle[:stale]
            if not idle:
                del self._idle[endpoint]

    @property
    def idle_count(self) -> int:
        """Idle connections currently kept."""
        return sum(len(idle) for idle in self._idle.values())

    async def close(self) -> None:
        """Close every connection, idle or busy (busy requests fail)."""
        self._closed = True
        conns = [c for idle in self._idle.values() for c in idle] + list(self._busy)
        self._idle.clear()
        self._busy.clear()
        for conn in conns:
            conn.http.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                await conn.http.wait_closed()

    def __repr__(self) -> str:
        return f"UpstreamPool(idle={self.idle_count}, busy={len(self._busy)}, opened={self.opened})"
