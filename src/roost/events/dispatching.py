"""The dispatcher: takes events off the bus for each trigger and delivers them.

One durable bus consumer per trigger (``trigger:<name>``), so each trigger has its own
position and its own backlog. A tick:

1. **intake** — fetch each (unsuspended) trigger's next events, keep those its filters
   match, check its loop guards, and record a delivery per match (unique per trigger and
   event id: a redelivered event is not delivered twice); then acknowledge the batch. A crash
   before the acknowledgement repeats the intake, which the unique key absorbs.
2. **deliver** — attempt every delivery that is due; on failure the trigger's retry policy
   says when to retry or that it is dead (the dead-letter queue), with an event saying so.
3. **watch the DLQ** — when it got deeper, record ``dev.roost.events.dlq.growing``.

An action a delivery runs records its events under the delivery's cause (correlation id,
causation id = the delivered event, chain depth + 1), so the trace can follow the chain and
the depth guard can stop a loop.

Only the leading control plane runs a dispatcher (``roost.control.leadership.eventing``).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from roost._util import event_catalog as catalog
from roost.clock import Clock
from roost.events import guarding, retrying
from roost.events.bus import Bus, Consumer, Message
from roost.events.filtering import matches
from roost.events.relaying import Relay
from roost.events.sinks import ActionRunner, Outcome, deliver
from roost.spec.triggers import Trigger
from roost.store import Store, StoreError
from roost.store.causation import CAUSATION, CORRELATION, DEPTH, Cause, caused_by
from roost.store.deliveries import DEAD, DELIVERED, PENDING, SKIPPED, DeliveryRecord, NewDelivery

log = logging.getLogger("roost.events.dispatching")

BATCH = 200
IDLE_WAIT = 0.05
PRUNE_EVERY = 60.0
"""Seconds between prunings of the outbox (entries every consumer has read)."""
DLQ_CHECK_EVERY = 1.0
"""Seconds between looks at the DLQ's depth while nothing happens (after every busy tick)."""


def consumer_name(trigger: str) -> str:
    """The bus consumer of ``trigger``."""
    return f"trigger:{trigger}"


def correlation_of(envelope: dict[str, Any]) -> str:
    """The chain an event belongs to: its ``correlationid``, or itself when it starts one."""
    return str(envelope.get(CORRELATION) or envelope["id"])


def depth_of(envelope: dict[str, Any]) -> int:
    try:
        return int(envelope.get(DEPTH) or 0)
    except (TypeError, ValueError):
        return 0


class Dispatcher:
    """Delivers the bus's events to ``triggers``. ``workers`` 0 runs attempts inline (a
    virtual-clock test drives :meth:`tick` itself)."""

    def __init__(
        self,
        store: Store,
        bus: Bus,
        triggers: Sequence[Trigger],
        *,
        clock: Clock | None = None,
        root: Path | None = None,
        actions: ActionRunner | None = None,
        client: httpx.Client | None = None,
        rng: random.Random | None = None,
        workers: int = 4,
        relay: Relay | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock or store.clock
        self.triggers = {t.name: t for t in triggers}
        self.root = root
        self.actions = actions
        self.relay = relay
        self._client = client or httpx.Client()
        self._own_client = client is None
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self.consumers: dict[str, Consumer] = {
            name: bus.consumer(consumer_name(name)) for name in self.triggers
        }
        self._pool = ThreadPoolExecutor(workers, "event-delivery") if workers > 0 else None
        self._in_flight: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._dlq_depth = self._dead_count()
        self._dlq_checked = self.clock.monotonic()
        self._pruned = self.clock.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one tick ---------------------------------------------------------------------------------

    def tick(self) -> int:
        """Intake, deliver what is due, watch the DLQ; how many things happened."""
        relayed = self.relay.relay_once() if self.relay is not None else 0
        # Read again before delivering: intake may have just suspended a trigger.
        done = relayed + self.intake() + self.deliver_due()
        now = self.clock.monotonic()
        if done or now - self._dlq_checked >= DLQ_CHECK_EVERY:
            self._dlq_checked = now
            self.watch_dlq()
        if now - self._pruned >= PRUNE_EVERY:
            self._pruned = now
            self.prune()
        return done

    def prune(self) -> int:
        """Drop outbox entries every consumer of this dispatcher is past (the event log keeps
        every event; the outbox only needs what is still to be read); how many."""
        positions = self.store.outbox.positions()
        names = [consumer_name(t) for t in self.triggers]
        if self.relay is not None:
            names.append(self.relay.consumer)
        if self.bus.kind != "outbox":
            names = [self.relay.consumer] if self.relay is not None else []
        known = [positions[n] for n in names if n in positions]
        if not known or len(known) < len(names):
            return 0
        # Keep the newest entry: SQLite numbers a new row max(seq) + 1, so an empty outbox
        # would start again at 1, below every consumer's position.
        return self.store.outbox.prune(min(*known, self.store.outbox.last_seq() - 1))

    def intake(self, *, timeout: float = 0.0, suspended: Sequence[str] | None = None) -> int:
        """Record deliveries for each trigger's next events; how many events were read."""
        if suspended is None:
            suspended = list(self.store.deliveries.suspended())
        read = 0
        for name, trigger in self.triggers.items():
            if name in suspended:
                continue  # its events wait on the bus (its backlog shows them) until resumed
            consumer = self.consumers[name]
            messages = consumer.fetch(BATCH, timeout=timeout)
            if messages:
                read += len(messages)
                self._take(trigger, consumer, messages)
        return read

    def _take(self, trigger: Trigger, consumer: Consumer, messages: list[Message]) -> None:
        now = self.clock.now()
        new: list[NewDelivery] = []
        taken: list[Message] = []
        guard = trigger.guard
        recent: int | None = None if guard.max_rate is not None else 0
        last = self.store.deliveries.last_started(trigger.name) if guard.cooldown else None
        tripped: guarding.Tripped | None = None
        for message in messages:
            envelope = message.envelope
            taken.append(message)
            if not matches(trigger.filters, envelope):
                continue
            if recent is None:
                since = now - trigger.guard.rate_window
                recent = self.store.deliveries.started_since(trigger.name, since)
            depth = depth_of(envelope)
            tripped = guarding.check(
                trigger.guard,
                trigger=trigger.name,
                depth=depth,
                recent=recent,
                last_in_chain=last,
                now=now,
            )
            item = NewDelivery(
                trigger=trigger.name,
                envelope=envelope,
                correlation_id=correlation_of(envelope),
                causation_id=envelope.get(CAUSATION),
                depth=depth,
                state=SKIPPED if tripped else PENDING,
                last_error=tripped.reason if tripped else None,
            )
            new.append(item)
            if tripped is not None:
                break
            recent += 1
            last = now
        rest = messages[len(taken) :]
        self.store.deliveries.enqueue(new)
        consumer.ack(taken)
        if rest:
            consumer.release(rest)  # they wait on the bus for the trigger's resumption
        if tripped is not None:
            self._suspend(trigger, tripped, new[-1])

    def _suspend(self, trigger: Trigger, tripped: guarding.Tripped, item: NewDelivery) -> None:
        if not self.store.deliveries.suspend(trigger.name, tripped.reason):
            return
        log.warning("trigger %s suspended: %s", trigger.name, tripped.reason)
        cause = Cause(
            correlation_id=item.correlation_id,
            causation_id=str(item.envelope["id"]),
            depth=item.depth + 1,
            caused_by=trigger.name,
        )
        with caused_by(cause):
            self.store.events.append(
                catalog.TRIGGER_SUSPENDED,
                source=catalog.SOURCE_EVENTS,
                subject=trigger.name,
                data={
                    "trigger": trigger.name,
                    "guard": tripped.guard,
                    "reason": tripped.reason,
                    "event": str(item.envelope["id"]),
                    "hint": f"fix the loop, then `roost events triggers resume {trigger.name}`",
                },
            )

    def deliver_due(self, *, suspended: Sequence[str] | None = None) -> int:
        """Attempt every due delivery (not already being attempted); how many started."""
        if suspended is None:
            suspended = list(self.store.deliveries.suspended())
        with self._lock:
            busy = [d for d, f in self._in_flight.items() if not f.done()]
            self._in_flight = {d: f for d, f in self._in_flight.items() if not f.done()}
        due = [
            d for d in self.store.deliveries.due(limit=BATCH, exclude=suspended) if d.id not in busy
        ]
        for delivery in due:
            if self._pool is None:
                self._attempt(delivery)
                continue
            future = self._pool.submit(self._attempt, delivery)
            with self._lock:
                self._in_flight[delivery.id] = future
        return len(due)

    def _attempt(self, delivery: DeliveryRecord) -> None:
        try:
            self._attempt_once(delivery)
        except StoreError as exc:
            log.warning("delivery %s: the store failed: %s", delivery.id, exc)
        except Exception:  # a sink's bug must not kill the dispatcher; the attempt is retried
            log.exception("delivery %s failed unexpectedly", delivery.id)

    def _attempt_once(self, delivery: DeliveryRecord) -> None:
        trigger = self.triggers.get(delivery.trigger)
        started = self.clock.now()
        t0 = self.clock.monotonic()
        envelope = dict(delivery.envelope)
        envelope[CORRELATION] = delivery.correlation_id
        if trigger is None:
            outcome = Outcome(False, None, f"trigger {delivery.trigger} is not in roost.yaml")
        else:
            cause = Cause(
                correlation_id=delivery.correlation_id,
                causation_id=delivery.event_id,
                depth=delivery.depth + 1,
                caused_by=f"{delivery.trigger}/{delivery.id}",
            )
            with caused_by(cause):
                outcome = deliver(
                    trigger,
                    envelope,
                    client=self._client,
                    root=self.root,
                    actions=self.actions,
                    delivery_id=delivery.id,
                )
        duration_ms = (self.clock.monotonic() - t0) * 1000
        if outcome.ok:
            state, retry_at, reason = DELIVERED, None, None
        elif trigger is None:
            state, retry_at, reason = DEAD, None, outcome.detail
        else:
            verdict = retrying.after_failure(
                trigger.retry,
                attempts=delivery.attempts + 1,
                since=delivery.retry_since,
                now=self.clock.now(),
                rng=self._rng,
            )
            retry_at, reason = verdict.retry_at, verdict.reason
            state = PENDING if retry_at is not None else DEAD
        record = self.store.deliveries.record_attempt(
            delivery.id,
            started_at=started,
            duration_ms=duration_ms,
            ok=outcome.ok,
            status=outcome.status,
            detail=outcome.detail,
            state=state,
            next_attempt_at=retry_at,
        )
        if state == DEAD:
            self._dead_lettered(record, reason or "", outcome)

    def _dead_lettered(self, record: DeliveryRecord, reason: str, outcome: Outcome) -> None:
        cause = Cause(
            correlation_id=record.correlation_id,
            causation_id=record.event_id,
            depth=record.depth + 1,
            caused_by=f"{record.trigger}/{record.id}",
        )
        with caused_by(cause):
            self.store.events.append(
                catalog.DELIVERY_DEAD_LETTERED,
                source=catalog.SOURCE_EVENTS,
                subject=record.trigger,
                data={
                    "trigger": record.trigger,
                    "delivery": record.id,
                    "event": record.event_id,
                    "attempts": record.attempts,
                    "reason": reason,
                    "last_error": outcome.detail,
                    "hint": f"fix the receiver, then `roost events dlq replay {record.id}`",
                },
            )

    def _dead_count(self) -> int:
        return self.store.deliveries.count(DEAD)

    def watch_dlq(self) -> None:
        """Record an event when the dead-letter queue got deeper than last seen."""
        depth = self._dead_count()
        previous, self._dlq_depth = self._dlq_depth, depth
        if depth > previous:
            self.store.events.append(
                catalog.DLQ_GROWING,
                source=catalog.SOURCE_EVENTS,
                data={
                    "depth": depth,
                    "previous": previous,
                    "hint": "`roost events dlq list` shows them; replay after the fix",
                },
            )

    # -- running ----------------------------------------------------------------------------------

    def start(self) -> Dispatcher:
        """Tick on a thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="event-dispatcher", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        doorbell = self.store.outbox.doorbell
        while not self._stop.is_set():
            seen = doorbell.rung
            try:
                busy = self.tick()
            except StoreError as exc:
                log.warning("event dispatch paused: %s", exc)
                busy = 0
            except Exception:
                log.exception("event dispatch failed; trying again")
                busy = 0
            if not busy:
                doorbell.wait(seen, IDLE_WAIT)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait for the attempts in flight (tests, shutdown)."""
        with self._lock:
            futures = list(self._in_flight.values())
        for future in futures:
            future.result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        for consumer in self.consumers.values():
            consumer.close()
        if self._own_client:
            self._client.close()

    def __repr__(self) -> str:
        return f"Dispatcher(triggers={sorted(self.triggers)}, bus={self.bus!r})"
