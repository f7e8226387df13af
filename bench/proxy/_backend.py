"""A small, fast HTTP/1.1 backend for the benchmark: answers every request with ``ok``.

Run as ``python _backend.py NAME [NAME ...]``: one listener per name on 127.0.0.1, ports
printed as one JSON line. Requests are never parsed beyond finding the end of their head
(the benchmark sends GETs without bodies), so the backend costs as little as Python allows
and the numbers are about the proxy, not the backend.
"""

from __future__ import annotations

import asyncio
import functools
import json
import signal
import sys
from typing import cast

from roost.traffic import install_uvloop


class _Ok(asyncio.Protocol):
    def __init__(self, name: bytes) -> None:
        body = b"ok " + name
        self._reply = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%b" % (len(body), body)
        self._buffer = b""
        self._transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: cast, do not check.
        self._transport = cast(asyncio.WriteTransport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        answers = buffer.count(b"\r\n\r\n")
        self._buffer = buffer[buffer.rfind(b"\r\n\r\n") + 4 :] if answers else buffer
        if answers and self._transport is not None:
            self._transport.write(self._reply * answers)


async def main(names: list[str]) -> None:
    loop = asyncio.get_running_loop()
    servers = []
    ports = {}
    for name in names:
        server = await loop.create_server(
            functools.partial(_Ok, name.encode()), "127.0.0.1", 0, backlog=1024
        )
        servers.append(server)
        ports[name] = server.sockets[0].getsockname()[1]
    print(json.dumps(ports), flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


if __name__ == "__main__":
    install_uvloop()
    asyncio.run(main(sys.argv[1:]))
