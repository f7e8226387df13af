"""Python load generators for the benchmark: closed-loop (as fast as it goes) and open-loop
(a fixed arrival rate).

Both speak raw HTTP/1.1 over keep-alive connections — httpx would cost more CPU per request
than the proxy under test. At a fixed rate every request goes out on schedule on a connection
of its own if all others are busy, so a stalled server cannot hold back the requests behind
it (no coordinated omission); latency runs from the moment the request is sent, so the
generator's own timer jitter is not charged to the server.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

REQUEST = b"GET / HTTP/1.1\r\nhost: bench\r\n\r\n"


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float]  # seconds
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))]


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(REQUEST)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)


async def closed_loop(port: int, *, requests: int, connections: int, cap: float) -> Result:
    """``connections`` clients each sending back-to-back until ``requests`` or ``cap`` s."""
    latencies: list[float] = []
    errors = 0
    remaining = requests
    deadline = time.perf_counter() + cap

    async def client() -> None:
        nonlocal remaining, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                started = time.perf_counter()
                try:
                    await _exchange(reader, writer)
                except (OSError, asyncio.IncompleteReadError):
                    errors += 1
                    return
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return Result(len(latencies), time.perf_counter() - started, latencies, errors)


async def fixed_rate(port: int, *, rate: float, seconds: float, warm: int = 8) -> Result:
    """Requests arriving at ``rate`` per second for ``seconds``, each on an idle keep-alive
    connection (a new one only when all are busy)."""
    loop = asyncio.get_running_loop()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    every: list[asyncio.StreamWriter] = []
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        sent = time.perf_counter()  # uvloop's loop.time() has 1 ms resolution
        if idle:
            conn = idle.pop()
        else:
            conn = await asyncio.open_connection("127.0.0.1", port)
            every.append(conn[1])
        try:
            await _exchange(*conn)
        except (OSError, asyncio.IncompleteReadError):
            errors += 1
            return
        latencies.append(time.perf_counter() - sent)
        idle.append(conn)

    # Open (and use once) a few connections first: the steady state of keep-alive traffic is
    # what is measured, not the TCP handshakes of the first second.
    for _ in range(warm):
        conn = await asyncio.open_connection("127.0.0.1", port)
        every.append(conn[1])
        await _exchange(*conn)
        idle.append(conn)
    total = int(rate * seconds)
    tasks = []
    start = loop.time() + 0.05
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    for writer in every:
        writer.close()
    return Result(len(latencies), elapsed, latencies, errors)
