"""The event bus on NATS JetStream: one stream (``ROOST_EVENTS`` on ``roost.events.>``), one
durable pull consumer per trigger.

The client (``nats-py``) is asyncio; roost's control plane is threads. The bus runs one event
loop on its own thread and every call waits for its coroutine there, so callers stay
synchronous and the connection is shared.

Publishing sets ``Nats-Msg-Id`` to the event id: the stream drops a second publish of the same
event inside its duplicate window, which makes the outbox relay's retry after a crash (publish
done, position not yet stored) harmless. The subject is ``roost.events.<type>``, so a NATS
user can subscribe to one type without roost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js
import nats.js.api
import nats.js.errors

from roost.events.bus import BusError, Message

T = TypeVar("T")

STREAM = "ROOST_EVENTS"
SUBJECT_PREFIX = "roost.events."
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
_CALL_TIMEOUT = 30.0
_PUBLISH_WINDOW = 256  # publishes awaiting their acknowledgement at once


def subject_of(event_type: str, *, prefix: str = SUBJECT_PREFIX) -> str:
    """The NATS subject an event of ``event_type`` is published on."""
    tokens = [_UNSAFE.sub("_", token) or "_" for token in event_type.split(".")]
    return prefix + ".".join(tokens)


def durable_name(name: str) -> str:
    """``name`` as a JetStream durable consumer name (no dots, wildcards or spaces)."""
    return re.sub(r"[^A-Za-z0-9_\-]", "_", name)


class JetStreamBus:
    """:class:`~roost.events.bus.Bus` on a NATS server with JetStream enabled."""

    kind = "jetstream"

    def __init__(
        self,
        url: str,
        *,
        stream: str = STREAM,
        subject_prefix: str = SUBJECT_PREFIX,
        ack_wait: float = 30.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.stream = stream
        self.subject_prefix = subject_prefix
        self.ack_wait = ack_wait
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="jetstream-bus", daemon=True
        )
        self._thread.start()
        try:
            self._nc, self._js = self._call(self._connect(connect_timeout))
        except BaseException:
            self._stop_loop()
            raise

    async def _connect(self, timeout: float) -> tuple[Any, Any]:
        try:
            nc = await nats.connect(
                self.url,
                connect_timeout=timeout,
                max_reconnect_attempts=-1,
                allow_reconnect=True,
            )
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            raise BusError(
                f"cannot reach NATS at {self.url}: {exc or type(exc).__name__}",
                hint="start nats-server with JetStream (`nats-server -js`) or fix event_bus.url",
            ) from None
        js = nc.jetstream()
        config = nats.js.api.StreamConfig(
            name=self.stream,
            subjects=[self.subject_prefix + ">"],
            storage=nats.js.api.StorageType.FILE,
            duplicate_window=120.0,
        )
        try:
            try:
                await js.stream_info(self.stream)
            except nats.js.errors.NotFoundError:
                await js.add_stream(config)
        except nats.errors.Error as exc:
            await nc.close()
            raise BusError(
                f"NATS at {self.url} refused the stream {self.stream}: {exc}",
                hint="is JetStream enabled on the server (`nats-server -js`)?",
            ) from None
        return nc, js

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = _CALL_TIMEOUT) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise BusError(f"NATS at {self.url} did not answer in {timeout:g} s") from None

    def publish(self, envelopes: Sequence[dict[str, Any]]) -> None:
        self._call(self._publish(list(envelopes)))

    async def _publish(self, envelopes: list[dict[str, Any]]) -> None:
        for start in range(0, len(envelopes), _PUBLISH_WINDOW):
            window = envelopes[start : start + _PUBLISH_WINDOW]
            try:
                await asyncio.gather(
                    *(
                        self._js.publish(
                            subject_of(str(env["type"]), prefix=self.subject_prefix),
                            json.dumps(env, separators=(",", ":")).encode(),
                            stream=self.stream,
                            headers={"Nats-Msg-Id": str(env["id"])},
                        )
                        for env in window
                    )
                )
            except (TimeoutError, nats.errors.Error) as exc:
                raise BusError(f"publishing to JetStream at {self.url} failed: {exc}") from None

    def consumer(self, name: str) -> JetStreamConsumer:
        return JetStreamConsumer(self, name)

    def lag_of(self, name: str) -> int | None:
        """The lag of consumer ``name`` without subscribing (None if it does not exist)."""
        try:
            info = self._call(self._js.consumer_info(self.stream, durable_name(name)))
        except nats.js.errors.NotFoundError:
            return None
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    def stream_info(self) -> Any:
        """The stream's state (messages, bytes, first and last sequence)."""
        return self._call(self._js.stream_info(self.stream))

    def close(self) -> None:
        with contextlib.suppress(BusError, nats.errors.Error):
            self._call(self._nc.drain(), timeout=5.0)
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
        if not self._loop.is_running():
            self._loop.close()

    def __repr__(self) -> str:
        return f"JetStreamBus({self.url!r}, stream={self.stream!r})"


class JetStreamConsumer:
    """A durable pull consumer with explicit acknowledgements."""

    def __init__(self, bus: JetStreamBus, name: str) -> None:
        self.name = name
        self.durable = durable_name(name)
        self._bus = bus
        self._outstanding: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._sub = bus._call(self._subscribe())

    async def _subscribe(self) -> Any:
        config = nats.js.api.ConsumerConfig(
            durable_name=self.durable,
            ack_policy=nats.js.api.AckPolicy.EXPLICIT,
            # A new consumer sees what is published from now on, like the outbox's.
            deliver_policy=nats.js.api.DeliverPolicy.NEW,
            ack_wait=self._bus.ack_wait,
            max_ack_pending=-1,
        )
        try:
            return await self._bus._js.pull_subscribe(
                self._bus.subject_prefix + ">",
                durable=self.durable,
                stream=self._bus.stream,
                config=config,
            )
        except nats.errors.Error as exc:
            raise BusError(f"JetStream consumer {self.durable}: {exc}") from None

    def fetch(self, max_messages: int, *, timeout: float) -> list[Message]:
        wait = max(timeout, 0.05)
        raw = self._bus._call(self._fetch(max_messages, wait), timeout=wait + _CALL_TIMEOUT)
        messages = []
        with self._lock:
            for msg in raw:
                position = int(msg.metadata.sequence.stream)
                self._outstanding[position] = msg
                messages.append(Message(json.loads(msg.data), position, msg))
        return messages

    async def _fetch(self, max_messages: int, timeout: float) -> list[Any]:
        try:
            return list(await self._sub.fetch(max_messages, timeout=timeout))
        except (TimeoutError, nats.errors.TimeoutError):
            return []

    def ack(self, messages: Sequence[Message]) -> None:
        self._settle(messages, nak=False)

    def release(self, messages: Sequence[Message]) -> None:
        self._settle(messages, nak=True)

    def _settle(self, messages: Sequence[Message], *, nak: bool) -> None:
        with self._lock:
            handles = [self._outstanding.pop(m.position, m.handle) for m in messages]
        handles = [h for h in handles if h is not None]
        if handles:
            self._bus._call(self._settle_all(handles, nak=nak))

    @staticmethod
    async def _settle_all(handles: list[Any], *, nak: bool) -> None:
        await asyncio.gather(*((h.nak() if nak else h.ack()) for h in handles))

    def lag(self) -> int:
        """Messages not yet delivered plus delivered and not yet acknowledged: JetStream's
        consumer lag, what the outbox counts as not acknowledged."""
        info = self._bus._call(self._bus._js.consumer_info(self._bus.stream, self.durable))
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    def close(self) -> None:
        """Hand back what was fetched and not acknowledged (redelivered at once, not after
        the ack wait), then stop."""
        with self._lock:
            pending = list(self._outstanding.values())
            self._outstanding.clear()
        try:
            if pending:
                self._bus._call(self._settle_all(pending, nak=True))
            self._bus._call(self._sub.unsubscribe())
        except (BusError, nats.errors.Error):
            pass

    def __repr__(self) -> str:
        return f"JetStreamConsumer({self.durable!r}, stream={self._bus.stream!r})"
