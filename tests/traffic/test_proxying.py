"""The embedded proxy against real backends over real sockets."""

import asyncio
import hashlib
import random
import socket
from collections import Counter
from datetime import timedelta

import httpx

from roost.telemetry import NO_RESPONSE
from roost.traffic import UNROUTED, Endpoint

_MINUTE = timedelta(minutes=1)


async def _wire(stack, *backends, weights):
    for b in backends:
        await stack.router.set_endpoints("web", b.name, [b.endpoint])
    await stack.router.set_weights("web", weights)


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_weighted_split_converges(run, backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, backend("v2") as v2, stack(rng=random.Random(7)) as s:
            await _wire(s, v1, v2, weights={"v1": 80, "v2": 20})
            seen = Counter()
            for _ in range(1000):
                r = await s.client.get("/")
                assert r.status_code == 200
                assert r.headers["x-roost-revision"] == r.text
                seen[r.text] += 1
            assert 160 <= seen["v2"] <= 240, seen
            assert seen["v1"] + seen["v2"] == 1000
            assert (v1.requests, v2.requests) == (seen["v1"], seen["v2"])

    run(main())


def test_atomic_update_to_100_0_stops_the_canary_at_once(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, backend("v2") as v2, stack() as s:
            await _wire(s, v1, v2, weights={"v1": 50, "v2": 50})
            updated_at: list[float] = []
            late_canary: list[float] = []
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()

            async def load() -> None:
                while not stop.is_set():
                    started = loop.time()
                    r = await s.client.get("/")
                    if r.text == "v2" and updated_at and started > updated_at[0]:
                        late_canary.append(started)

            workers = [asyncio.create_task(load()) for _ in range(4)]
            await asyncio.sleep(0.3)
            assert v2.requests > 0
            await s.router.set_weights("web", {"v1": 100, "v2": 0})
            updated_at.append(loop.time())
            assert s.router.current("web").revisions["v2"].endpoints  # still ready
            # Requests routed before the update may still be on their way: let them finish.
            while s.router.inflight("web", "v2"):
                await asyncio.sleep(0.001)
            canary_total = v2.requests
            before = v1.requests
            await asyncio.sleep(0.3)
            stop.set()
            await asyncio.gather(*workers)
            assert late_canary == []
            assert v2.requests == canary_total
            assert v1.requests > before

    asyncio.run(main())


def test_header_reaches_a_revision_with_zero_weight(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, backend("v2") as v2, stack() as s:
            await _wire(s, v1, v2, weights={"v1": 100, "v2": 0})
            for _ in range(5):
                r = await s.client.get("/", headers={"x-roost-revision": "v2"})
                assert (r.status_code, r.text, r.headers["x-roost-revision"]) == (200, "v2", "v2")
            r = await s.client.get("/")
            assert r.text == "v1"

    asyncio.run(main())


def test_unknown_revision_is_a_clear_404(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, backend("v2") as v2, stack() as s:
            await _wire(s, v1, v2, weights={"v1": 100, "v2": 0})
            r = await s.client.get("/", headers={"x-roost-revision": "x"})
            assert r.status_code == 404
            assert r.json() == {
                "error": 'unknown revision "x"',
                "service": "web",
                "revisions": ["v1", "v2"],
            }
            assert "x-roost-revision" not in r.headers
            assert v1.requests == v2.requests == 0
            # The connection stays usable.
            assert (await s.client.get("/")).text == "v1"
            assert s.recorder.store.request_count("web", UNROUTED, window=_MINUTE) == 1

    asyncio.run(main())


def test_503_names_the_service_when_nothing_is_ready(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, stack() as s:
            r = await s.client.get("/")
            assert r.status_code == 503
            assert r.json()["error"] == 'no ready endpoints for service "web"'
            await _wire(s, v1, weights={"v1": 100})
            assert (await s.client.get("/")).status_code == 200
            await s.router.set_endpoints("web", "v1", [])
            r = await s.client.get("/")
            assert r.status_code == 503
            assert r.json() == {
                "error": 'no ready endpoints for service "web"',
                "service": "web",
                "revisions": {"v1": {"weight": 100, "ready": 0}},
            }
            r = await s.client.get("/", headers={"x-roost-revision": "v1"})
            assert r.status_code == 503
            assert r.json()["error"] == 'revision "v1" of service "web" has no ready endpoints'
            store = s.recorder.store
            assert store.error_ratio("web", "v1", window=_MINUTE) == 0.5
            assert store.request_count("web", UNROUTED, window=_MINUTE) == 2

    asyncio.run(main())


def test_unready_canary_gives_its_share_to_the_others(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, backend("v2") as v2, stack() as s:
            await _wire(s, v1, v2, weights={"v1": 50, "v2": 50})
            await s.router.set_endpoints("web", "v2", [])
            texts = {(await s.client.get("/")).text for _ in range(30)}
            assert texts == {"v1"}

    asyncio.run(main())


def test_connect_failure_is_retried_on_another_replica(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, stack() as s:
            dead = Endpoint("127.0.0.1", _closed_port())
            await s.router.set_endpoints("web", "v1", [dead, v1.endpoint])
            await s.router.set_weights("web", {"v1": 1})
            for _ in range(10):
                r = await s.client.post("/echo", content=b"payload")
                assert r.status_code == 200
                assert r.text.startswith("7 ")
            assert v1.requests == 10
            assert s.recorder.store.error_ratio("web", "v1", window=_MINUTE) == 0.0

            await s.router.set_endpoints("web", "v1", [dead])
            r = await s.client.get("/")
            assert r.status_code == 502
            assert "could not connect to any ready endpoint" in r.json()["error"]
            assert str(dead) in r.json()["error"]
            assert s.recorder.store.request_count("web", "v1", window=_MINUTE) == 11
            assert s.recorder.store.error_ratio("web", "v1", window=_MINUTE) == 1 / 11

    asyncio.run(main())


def test_keep_alive_reuses_upstream_connections(run, backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, backend("v2") as v2, stack() as s:
            await _wire(s, v1, v2, weights={"v1": 1, "v2": 1})
            for _ in range(50):
                assert (await s.client.get("/")).status_code == 200
            assert v1.requests + v2.requests == 50
            assert (v1.connections, v2.connections) == (1, 1)
            assert s.proxy.pool.opened == 2
            # HEAD has no body whatever its content-length says; the connection survives it.
            r = await s.client.head("/")
            assert (r.status_code, r.content) == (200, b"")
            assert r.headers["content-length"] == "2"
            assert (await s.client.get("/")).status_code == 200
            assert s.proxy.pool.opened == 2

    run(main())


def test_client_keep_alive_and_pipelining(run, backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, stack() as s:
            await _wire(s, v1, weights={"v1": 1})
            reader, writer = await asyncio.open_connection("127.0.0.1", s.proxy.port)
            request = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"
            post = b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc"
            try:
                for _ in range(3):  # one after the other on one connection
                    writer.write(request)
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                    assert head.startswith(b"HTTP/1.1 200 ")
                    assert await reader.readexactly(2) == b"v1"
                writer.write(request + post + request)  # pipelined in one segment
                replies = b""
                while replies.count(b"HTTP/1.1 200 ") < 3 or not replies.endswith(b"v1"):
                    replies += await asyncio.wait_for(reader.read(65536), 5)
                bodies = [part.split(b"\r\n")[0] for part in replies.split(b"\r\n\r\n")[1:]]
                assert bodies[0].startswith(b"v1HTTP/1.1 200")
                assert b"3 ba7816bf" in replies  # sha256("abc")
            finally:
                writer.close()
                await writer.wait_closed()
            assert v1.requests == 6
            assert v1.connections == 1

    run(main())


def test_a_pooled_connection_closed_by_the_backend_is_replaced(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, stack() as s:
            await _wire(s, v1, weights={"v1": 1})
            assert (await s.client.get("/")).text == "v1"
            for writer in list(v1._writers):  # the backend's keep-alive timeout fires
                writer.close()
            await asyncio.sleep(0.05)
            assert (await s.client.get("/")).text == "v1"
            assert v1.connections == 2

    asyncio.run(main())


def test_chunked_response_streams_incrementally(run, backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, stack() as s:
            await _wire(s, v1, weights={"v1": 1})
            async with s.client.stream("GET", "/chunks?n=3") as r:
                assert r.headers["transfer-encoding"] == "chunked"
                pieces = r.aiter_raw()
                first = await asyncio.wait_for(anext(pieces), 5)
                # The backend is still holding the rest back: the proxy did not buffer.
                assert first == b"first;"
                v1.release()
                rest = b"".join([p async for p in pieces])
            assert rest == b"chunk1;chunk2;"

    run(main())


def test_large_request_body_is_streamed_through(run, backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, stack() as s:
            await _wire(s, v1, weights={"v1": 1})
            piece = bytes(range(256)) * 256  # 64 KiB
            total = 8 * 1024 * 1024
            digest = hashlib.sha256()

            async def body():
                sent = 0
                while sent < total:
                    if sent == 4 * len(piece):
                        # Hold the rest back until the backend has the start: a proxy that
                        # buffered the whole body would deadlock (and time out) here.
                        await asyncio.wait_for(v1.got_first_part.wait(), 10)
                    digest.update(piece)
                    sent += len(piece)
                    yield piece

            r = await s.client.post("/echo", content=body())
            assert r.status_code == 200
            assert r.text == f"{total} {digest.hexdigest()}"
            # And with a Content-Length body.
            blob = random.Random(1).randbytes(3 * 1024 * 1024 + 17)
            r = await s.client.post("/echo", content=blob)
            assert r.text == f"{len(blob)} {hashlib.sha256(blob).hexdigest()}"

    run(main())


def test_telemetry_counts_per_revision_and_class(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, backend("v2") as v2, stack() as s:
            await _wire(s, v1, v2, weights={"v1": 1, "v2": 0})
            for _ in range(6):
                await s.client.get("/")
            for _ in range(3):
                await s.client.get("/status/404")
            for code in (500, 503):
                await s.client.get(f"/status/{code}", headers={"x-roost-revision": "v2"})
            await s.client.get("/", headers={"x-roost-revision": "v2"})
            store = s.recorder.store
            assert store.request_count("web", "v1", window=_MINUTE) == 9
            assert store.error_ratio("web", "v1", window=_MINUTE) == 0.0
            assert store.request_count("web", "v2", window=_MINUTE) == 3
            assert store.error_ratio("web", "v2", window=_MINUTE) == 2 / 3
            p50 = store.latency_quantile("web", "v1", 0.5, window=_MINUTE)
            assert p50 is not None
            assert 0 < p50 < 1
            metrics = s.recorder.render_metrics().decode()
            assert (
                'roost_requests_total{code="2xx",code_class="2xx",revision="v1",service="web"} 6.0'
                in metrics
            )
            assert (
                'roost_requests_total{code="4xx",code_class="4xx",revision="v1",service="web"} 3.0'
                in metrics
            )
            assert (
                'roost_requests_total{code="5xx",code_class="5xx",revision="v2",service="web"} 2.0'
                in metrics
            )
            assert (
                'roost_request_duration_seconds_count{revision="v2",service="web"} 3.0' in metrics
            )

    asyncio.run(main())


def test_drain_waits_for_requests_in_flight(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, backend("v2") as v2, stack() as s:
            await _wire(s, v1, v2, weights={"v1": 1, "v2": 0})
            loop = asyncio.get_running_loop()
            slow = asyncio.create_task(s.client.get("/slow?s=0.5"))
            while s.router.inflight("web", "v1") == 0:
                await asyncio.sleep(0.005)
            await s.router.set_weights("web", {"v1": 0, "v2": 1})
            started = loop.time()
            assert await s.proxy.drain("v1", timeout=5) is True
            assert loop.time() - started >= 0.3
            assert s.router.inflight("web", "v1") == 0
            assert (await asyncio.wait_for(slow, 2)).text == "v1"
            # v1 has no ready endpoint any more; v2 serves everything.
            assert (await s.client.get("/")).text == "v2"
            assert (await s.router.routes("web")).revisions["v1"].endpoints == ()

            # A bounded wait: a request longer than the timeout is not waited for.
            long = asyncio.create_task(
                s.client.get("/slow?s=1", headers={"x-roost-revision": "v2"})
            )
            while s.router.inflight("web", "v2") == 0:
                await asyncio.sleep(0.005)
            assert await s.proxy.drain("v2", timeout=0.1) is False
            assert (await long).text == "v2"  # draining does not cut requests off
            assert s.router.inflight("web", "v2") == 0

    asyncio.run(main())


def test_upstream_timeout_is_a_504(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, stack(upstream_timeout=0.2) as s:
            await _wire(s, v1, weights={"v1": 1})
            r = await s.client.get("/slow?s=2")
            assert r.status_code == 504
            assert "did not answer within 0.2s" in r.json()["error"]
            assert s.recorder.store.error_ratio("web", "v1", window=_MINUTE) == 1.0

    asyncio.run(main())


def test_garbage_gets_a_400_and_the_proxy_carries_on(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, stack() as s:
            await _wire(s, v1, weights={"v1": 1})
            port = s.proxy.port
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")
            reply = await reader.read()
            writer.close()
            await writer.wait_closed()
            assert reply.startswith(b"HTTP/1.1 400 ")
            assert (await s.client.get("/")).text == "v1"

    asyncio.run(main())


def test_http10_client_and_connection_close(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, stack() as s:
            await _wire(s, v1, weights={"v1": 1})
            for request in (
                b"GET / HTTP/1.0\r\n\r\n",
                b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            ):
                reader, writer = await asyncio.open_connection("127.0.0.1", s.proxy.port)
                writer.write(request)
                reply = await asyncio.wait_for(reader.read(), 5)  # the proxy closes
                writer.close()
                await writer.wait_closed()
                assert reply.startswith(b"HTTP/1.1 200 ")
                assert b"connection: close\r\n" in reply.lower()
                assert reply.endswith(b"\r\n\r\nv1")

    asyncio.run(main())


def test_backend_cut_off_mid_response_is_an_error(stack) -> None:
    async def main() -> None:
        async def liar(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly a bit")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(liar, "127.0.0.1", 0)
        try:
            async with stack() as s:
                port = server.sockets[0].getsockname()[1]
                await s.router.set_endpoints("web", "v1", [Endpoint("127.0.0.1", port)])
                await s.router.set_weights("web", {"v1": 1})
                try:
                    await s.client.get("/")
                except httpx.RemoteProtocolError:
                    pass
                else:
                    raise AssertionError("a truncated response must not look complete")
                store = s.recorder.store
                assert store.error_ratio("web", "v1", window=_MINUTE) == 1.0
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_stop_closes_idle_client_connections(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, stack() as s:
            await _wire(s, v1, weights={"v1": 1})
            assert (await s.client.get("/")).status_code == 200
            await s.proxy.stop(grace=1)
            try:
                await s.client.get("/")
            except httpx.TransportError:
                pass
            else:
                raise AssertionError("a stopped proxy must not answer")

    asyncio.run(main())


def test_no_response_status_is_recorded_as_error(backend, stack) -> None:
    async def main() -> None:
        async with stack() as s:
            await s.router.set_endpoints("web", "v1", [Endpoint("127.0.0.1", _closed_port())])
            await s.router.set_weights("web", {"v1": 1})
            assert (await s.client.get("/")).status_code == 502
            text = s.recorder.render_metrics().decode()
            assert 'code_class="error",revision="v1"' in text
            assert NO_RESPONSE == 0

    asyncio.run(main())


def test_only_safe_requests_are_replayed_after_a_connection_dies_unanswered(stack) -> None:
    """A backend that drops a kept-alive connection on its second request without answering
    (the race with its idle timeout): a GET is retried on a fresh connection, a POST is not."""

    async def main() -> None:
        seen: list[bytes] = []

        async def flaky(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            served = 0
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    seen.append(head.split(b" ", 1)[0])
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":")[1])
                    await reader.readexactly(length)
                    if served == 1:
                        break  # close without a word
                    served += 1
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    await writer.drain()
            except asyncio.IncompleteReadError:
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(flaky, "127.0.0.1", 0)
        try:
            async with stack() as s:
                port = server.sockets[0].getsockname()[1]
                await s.router.set_endpoints("web", "v1", [Endpoint("127.0.0.1", port)])
                await s.router.set_weights("web", {"v1": 1})
                assert (await s.client.get("/")).text == "ok"
                assert (await s.client.get("/")).text == "ok"  # replayed once, transparently
                assert seen == [b"GET", b"GET", b"GET"]
                # The fresh connection has served one request: it drops the next one.
                r = await s.client.post("/", content=b"charge the card")
                assert r.status_code == 502
                assert "closed the connection" in r.json()["error"]
                assert seen == [b"GET", b"GET", b"GET", b"POST"]  # sent once, not replayed
                assert (await s.client.post("/", content=b"x")).text == "ok"
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_expect_100_continue_is_answered_by_the_proxy(backend, stack) -> None:
    async def main() -> None:
        async with backend("v1") as v1, stack() as s:
            await _wire(s, v1, weights={"v1": 1})
            reader, writer = await asyncio.open_connection("127.0.0.1", s.proxy.port)
            try:
                writer.write(
                    b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n"
                    b"expect: 100-continue\r\n\r\n"
                )
                interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
                writer.write(b"hello")
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                assert head.startswith(b"HTTP/1.1 200 ")
                assert (await reader.readexactly(66)).startswith(b"5 2cf24dba")
            finally:
                writer.close()
                await writer.wait_closed()

    asyncio.run(main())
