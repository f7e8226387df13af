"""The admin listener: ``/metrics`` and ``/routes``, on a port of their own.

Kept apart from the service listeners on purpose: the proxy passes *every* path to the
backend (a service may well have its own ``/metrics``), and the admin port can be bound to
localhost while services listen publicly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from roost.clock import RealClock
from roost.telemetry import CONTENT_TYPE, Recorder
from roost.traffic._connection import HttpConnection
from roost.traffic._protocol import Router
from roost.traffic._wire import END, REASONS, BadMessage, Head, local_response

_log = logging.getLogger(__name__)
_JSON = b"application/json"
_IDLE_TIMEOUT = 75.0


class AdminServer:
    """Serves ``GET /metrics`` (Prometheus text format) and ``GET /routes`` (JSON)."""

    def __init__(self, *, router: Router, recorder: Recorder) -> None:
        self.router = router
        self.recorder = recorder
        self._server: asyncio.Server | None = None
        self._tasks: dict[asyncio.Task[None], HttpConnection] = {}

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (0: any free port); returns the bound port."""
        loop = asyncio.get_running_loop()
        now = RealClock().monotonic
        self._server = await loop.create_server(
            lambda: HttpConnection(response=False, now=now, on_made=self._accepted),
            host,
            port,
            reuse_address=True,
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close the listener and every connection."""
        if self._server is None:
            return
        self._server.close()
        for task, conn in list(self._tasks.items()):
            conn.close()
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def respond(self, method: bytes, target: bytes) -> tuple[int, bytes, bytes]:
        """``(status, content type, body)`` for one request."""
        path = target.split(b"?", 1)[0]
        if path not in (b"/metrics", b"/routes"):
            body = {
                "error": f"no such path {path.decode('latin-1')!r}",
                "paths": ["/metrics", "/routes"],
            }
            return 404, _JSON, json.dumps(body).encode()
        if method not in (b"GET", b"HEAD"):
            return 405, _JSON, b'{"error": "only GET is supported"}'
        if path == b"/metrics":
            return 200, CONTENT_TYPE.encode(), self.recorder.render_metrics()
        table = await self.router.table()
        body_json = {name: routes.to_json() for name, routes in sorted(table.items())}
        return 200, _JSON, json.dumps(body_json, indent=2).encode() + b"\n"

    def _accepted(self, conn: HttpConnection) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(conn))
        self._tasks[task] = conn

    async def _serve(self, stream: HttpConnection) -> None:
        try:
            while True:
                head = await stream.next(_IDLE_TIMEOUT)
                if not isinstance(head, Head):
                    break
                while await stream.next(_IDLE_TIMEOUT) is not END:
                    pass  # the admin endpoints take no body: skip it
                status, content_type, body = await self.respond(head.method, head.target)
                close = not head.keep_alive
                reply = local_response(
                    status, REASONS[status], body, content_type=content_type, close=close
                )
                if head.method == b"HEAD":
                    reply = reply[: len(reply) - len(body)]
                stream.write(reply)
                await stream.drain()
                if close:
                    break
        except (BadMessage, ConnectionError, TimeoutError):
            pass
        except Exception:
            _log.exception("admin listener: unexpected error")
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.pop(task, None)
            stream.close()
            with contextlib.suppress(OSError):
                await stream.wait_closed()
