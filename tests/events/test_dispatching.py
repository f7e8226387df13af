"""Triggers on the embedded bus, driven tick by tick on a virtual clock: deliveries, retries
with backoff, the dead-letter queue and its replay, idempotency, and the loop guards."""

from __future__ import annotations

import json
import random
import shlex
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from roost._util import event_catalog as catalog
from roost.clock import VirtualClock
from roost.events.dispatching import Dispatcher
from roost.events.outbox_bus import OutboxBus
from roost.events.sinks import ActionCall
from roost.spec.triggers import Trigger
from roost.store import Store
from roost.store.deliveries import DEAD, DELIVERED, PENDING, SKIPPED

VULN = catalog.SCAN_VULNERABILITY_FOUND


class Receiver:
    """An httpx transport that records requests and answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, text="ok" if self.status < 400 else "down")


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def client(receiver: Receiver) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.MockTransport(receiver)) as c:
        yield c


def _trigger(**raw: Any) -> Trigger:
    return Trigger.model_validate(raw)


def _dispatcher(store: Store, client: httpx.Client, *triggers: Trigger, **kw: Any) -> Dispatcher:
    return Dispatcher(
        store, OutboxBus(store), triggers, client=client, rng=random.Random(0), workers=0, **kw
    )


def test_a_matching_event_is_posted_once_in_binary_mode_with_its_id_as_key(
    sqlite_store: Store, client: httpx.Client, receiver: Receiver
) -> None:
    hook = _trigger(
        name="hook",
        filters=[{"exact": {"type": VULN}}],
        webhook={"url": "http://receiver.test/hook"},
    )
    d = _dispatcher(sqlite_store, client, hook)
    event = sqlite_store.events.append(
        VULN, source=catalog.SOURCE_SCAN, subject="sha256:abc", data={"severity": "critical"}
    )
    sqlite_store.events.append(catalog.BUILD_STARTED, source=catalog.SOURCE_BUILDS)
    d.tick()
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.headers["ce-id"] == event.id
    assert request.headers["ce-type"] == VULN
    assert request.headers["ce-source"] == "roost:/roost/scan"
    assert request.headers["ce-subject"] == "sha256:abc"
    assert request.headers["ce-correlationid"] == event.id
    assert json.loads(request.content) == {"severity": "critical"}
    (delivery,) = sqlite_store.deliveries.list()
    assert delivery.state == DELIVERED
    # The bus hands the same event over again (a crash before its acknowledgement): the
    # (trigger, event id) key makes it one delivery.
    sqlite_store.outbox.publish([dict(sqlite_store.outbox.read(0)[0].envelope)])
    d.tick()
    assert len(receiver.requests) == 1
    assert len(sqlite_store.deliveries.list()) == 1
    d.stop()


def test_structured_mode_slack_and_ticket_bodies(
    sqlite_store: Store, client: httpx.Client, receiver: Receiver
) -> None:
    triggers = [
        _trigger(name="cloud", webhook={"url": "http://r.test/ce", "mode": "structured"}),
        _trigger(
            name="chat",
            slack={"url": "http://r.test/slack", "text": "vuln in ${subject}: ${data.severity}"},
        ),
        _trigger(name="tickets", ticket={"url": "http://r.test/t", "labels": ["security"]}),
    ]
    d = _dispatcher(sqlite_store, client, *triggers)
    event = sqlite_store.events.append(
        VULN, source=catalog.SOURCE_SCAN, subject="sha256:abc", data={"severity": "high"}
    )
    d.tick()
    by_path = {r.url.path: r for r in receiver.requests}
    structured = by_path["/ce"]
    assert structured.headers["content-type"] == "application/cloudevents+json"
    assert json.loads(structured.content)["id"] == event.id
    slack = json.loads(by_path["/slack"].content)
    assert slack["text"] == "vuln in sha256:abc: high"
    assert slack["blocks"][0]["text"]["text"] == slack["text"]
    ticket = by_path["/t"]
    assert ticket.headers["idempotency-key"] == event.id
    body = json.loads(ticket.content)
    assert body["idempotency_key"] == event.id
    assert body["labels"] == ["security"]
    assert body["title"] == f"{VULN}: sha256:abc"
    d.stop()


def test_failures_back_off_then_dead_letter_then_replay_delivers(
    sqlite_store: Store, clock: VirtualClock, client: httpx.Client, receiver: Receiver
) -> None:
    ticket = _trigger(
        name="tickets",
        filters=[{"exact": {"type": VULN}}],
        ticket={"url": "http://r.test/t"},
        retry={"max_attempts": 3, "backoff": "10s", "jitter": 0},
    )
    d = _dispatcher(sqlite_store, client, ticket)
    receiver.status = 503
    event = sqlite_store.events.append(VULN, source=catalog.SOURCE_SCAN)
    d.tick()
    (delivery,) = sqlite_store.deliveries.list()
    assert delivery.state == PENDING
    assert delivery.attempts == 1
    assert delivery.next_attempt_at == clock.now() + timedelta(seconds=10)
    clock.advance(9)
    d.tick()
    assert len(receiver.requests) == 1  # not due yet
    clock.advance(1)
    d.tick()
    assert sqlite_store.deliveries.get(delivery.id).next_attempt_at == clock.now() + timedelta(
        seconds=20
    )
    clock.advance(20)
    d.tick()
    dead = sqlite_store.deliveries.get(delivery.id)
    assert dead.state == DEAD
    assert dead.attempts == 3
    assert "HTTP 503" in str(dead.last_error)
    attempts = sqlite_store.deliveries.attempts(delivery.id)
    assert [(a.attempt, a.ok, a.status) for a in attempts] == [
        (1, False, 503),
        (2, False, 503),
        (3, False, 503),
    ]
    (lettered,) = sqlite_store.events.list(catalog.DELIVERY_DEAD_LETTERED)
    assert lettered.data["delivery"] == delivery.id
    assert lettered.extensions is not None
    assert lettered.extensions["correlationid"] == event.id
    (growing,) = sqlite_store.events.list(catalog.DLQ_GROWING)
    assert growing.data["depth"] == 1
    clock.advance(3600)
    d.tick()
    assert len(receiver.requests) == 3  # dead stays dead
    receiver.status = 201
    assert sqlite_store.deliveries.replay([delivery.id]) == 1
    d.tick()
    assert sqlite_store.deliveries.get(delivery.id).state == DELIVERED
    assert len(sqlite_store.deliveries.attempts(delivery.id)) == 4
    assert len(sqlite_store.events.list(catalog.DLQ_GROWING)) == 1
    d.stop()


def test_purge_deletes_only_dead_deliveries(
    sqlite_store: Store, client: httpx.Client, receiver: Receiver
) -> None:
    t = _trigger(
        name="t",
        filters=[{"exact": {"type": VULN}}],
        webhook={"url": "http://r.test/"},
        retry={"max_attempts": 1},
    )
    d = _dispatcher(sqlite_store, client, t)
    receiver.status = 500
    sqlite_store.events.append(VULN, source=catalog.SOURCE_SCAN)
    d.tick()
    receiver.status = 200
    sqlite_store.events.append(VULN, source=catalog.SOURCE_SCAN)
    d.tick()
    assert sorted(x.state for x in sqlite_store.deliveries.list()) == [DEAD, DELIVERED]
    assert sqlite_store.deliveries.purge() == 1
    assert [x.state for x in sqlite_store.deliveries.list()] == [DELIVERED]
    d.stop()


def _ping_pong(store: Store) -> Any:
    calls: list[str] = []

    def run(call: ActionCall) -> str:
        calls.append(call.trigger)
        emitted = str(call.params["command"][1])
        store.events.append(emitted, source=catalog.SOURCE_ACTIONS)
        return f"emitted {emitted}"

    return run, calls


def test_a_loop_between_two_rules_is_stopped_by_the_depth_guard(
    sqlite_store: Store, client: httpx.Client
) -> None:
    ping, pong = "dev.roost.test.ping", "dev.roost.test.pong"
    run, calls = _ping_pong(sqlite_store)
    # The runner stands in for the registry: each rule's "job" records the other's event.
    a = _trigger(
        name="a",
        filters=[{"exact": {"type": ping}}],
        action={"name": "job", "with": {"command": ["emit", pong]}},
    )
    b = _trigger(
        name="b",
        filters=[{"exact": {"type": pong}}],
        action={"name": "job", "with": {"command": ["emit", ping]}},
    )
    d = _dispatcher(sqlite_store, client, a, b, actions=run)
    root = sqlite_store.events.append(ping, source=catalog.SOURCE_CLI)
    for _ in range(30):
        d.tick()
    # depth 0 (a), 1 (b), 2 (a), 3 (b); the ping at depth 4 trips a's max_depth of 3.
    assert calls == ["a", "b", "a", "b"]
    suspended = sqlite_store.deliveries.suspended()
    assert list(suspended) == ["a"]
    assert "max_depth 3" in str(suspended["a"].reason)
    (event,) = sqlite_store.events.list(catalog.TRIGGER_SUSPENDED)
    assert event.data["guard"] == "max_depth"
    assert event.subject == "a"
    assert event.extensions is not None
    assert event.extensions["correlationid"] == root.id
    skipped = sqlite_store.deliveries.list(state=SKIPPED)
    assert [(s.trigger, s.depth) for s in skipped] == [("a", 4)]
    chain = sqlite_store.events.chain(root.id)
    assert [e.extensions["chaindepth"] for e in chain if e.extensions][:4] == [1, 2, 3, 4]
    d.stop()


def test_the_rate_guard_suspends_a_trigger_and_its_events_wait_on_the_bus(
    sqlite_store: Store, clock: VirtualClock, client: httpx.Client, receiver: Receiver
) -> None:
    t = _trigger(
        name="noisy",
        filters=[{"exact": {"type": VULN}}],
        webhook={"url": "http://r.test/"},
        guard={"max_rate": 3, "rate_window": "1m"},
    )
    d = _dispatcher(sqlite_store, client, t)
    for _ in range(6):
        sqlite_store.events.append(VULN, source=catalog.SOURCE_SCAN)
    d.tick()
    d.tick()
    assert receiver.requests == []  # a suspended trigger delivers nothing at all
    assert "max_rate is 3" in str(sqlite_store.deliveries.suspended()["noisy"].reason)
    # The two after the tripping one wait on the bus, behind them the suspension's own event.
    assert d.consumers["noisy"].lag() == 3
    (suspended,) = sqlite_store.events.list(catalog.TRIGGER_SUSPENDED)
    assert suspended.data["guard"] == "max_rate"
    clock.advance(61)
    assert sqlite_store.deliveries.resume("noisy")
    d.tick()
    d.tick()
    assert len(receiver.requests) == 5  # the three taken, then the two that waited
    assert [x.state for x in sqlite_store.deliveries.list(state=SKIPPED)] == [SKIPPED]
    d.stop()


def test_a_command_runs_as_a_job_with_the_event_and_headers_and_timeouts_reach_the_wire(
    sqlite_store: Store, client: httpx.Client, receiver: Receiver, tmp_path: Path
) -> None:
    out = tmp_path / "seen.json"
    script = f"import sys, pathlib; pathlib.Path({str(out)!r}).write_text(sys.stdin.read())"
    job = _trigger(
        name="job",
        filters=[{"exact": {"type": VULN}}],
        command={"run": f"{sys.executable} -c {shlex.quote(script)}", "timeout": "30s"},
    )
    failing = _trigger(
        name="broken-job",
        filters=[{"exact": {"type": VULN}}],
        command={"run": "roost-no-such-command --flag"},
        retry={"max_attempts": 1},
    )
    hook = _trigger(
        name="hook",
        filters=[{"exact": {"type": VULN}}],
        webhook={"url": "http://r.test/", "headers": {"x-feed": "roost"}, "timeout": "3s"},
    )
    d = _dispatcher(sqlite_store, client, job, failing, hook, root=tmp_path)
    event = sqlite_store.events.append(VULN, source=catalog.SOURCE_SCAN, data={"n": 1})
    d.tick()
    assert json.loads(out.read_text())["id"] == event.id
    (broken,) = sqlite_store.deliveries.list(trigger="broken-job")
    assert broken.state == DEAD
    assert broken.last_error == "command not found: roost-no-such-command"
    (request,) = receiver.requests
    assert request.headers["x-feed"] == "roost"
    assert request.extensions["timeout"]["read"] == 3.0
    d.stop()


def test_the_cooldown_suspends_a_trigger_that_fires_again_too_soon(
    sqlite_store: Store, clock: VirtualClock, client: httpx.Client, receiver: Receiver
) -> None:
    t = _trigger(
        name="calm",
        filters=[{"exact": {"type": VULN}}],
        webhook={"url": "http://r.test/"},
        guard={"cooldown": "10s"},
    )
    d = _dispatcher(sqlite_store, client, t)
    sqlite_store.events.append(VULN, source=catalog.SOURCE_SCAN)
    d.tick()
    clock.advance(11)
    sqlite_store.events.append(VULN, source=catalog.SOURCE_SCAN)
    d.tick()
    assert len(receiver.requests) == 2
    clock.advance(5)
    sqlite_store.events.append(VULN, source=catalog.SOURCE_SCAN)
    d.tick()
    assert "cooldown" in str(sqlite_store.deliveries.suspended()["calm"].reason)
    assert len(receiver.requests) == 2
    d.stop()


def test_the_outbox_is_pruned_behind_the_slowest_consumer_and_the_log_keeps_everything(
    sqlite_store: Store, client: httpx.Client, receiver: Receiver
) -> None:
    fast = _trigger(
        name="fast", filters=[{"exact": {"type": VULN}}], webhook={"url": "http://r.test/"}
    )
    d = _dispatcher(sqlite_store, client, fast)
    for _ in range(3):
        sqlite_store.events.append(VULN, source=catalog.SOURCE_SCAN)
    d.tick()
    slow = sqlite_store.outbox.position("trigger:fast")
    assert slow is not None
    sqlite_store.outbox.advance("trigger:other", 0)  # not this dispatcher's: not waited for
    assert d.prune() == 2
    assert len(sqlite_store.outbox.read(0)) == 1  # the newest stays: seq numbers never repeat
    assert len(sqlite_store.events.list(VULN)) == 3
    sqlite_store.events.append(VULN, source=catalog.SOURCE_SCAN)
    d.tick()
    assert len(receiver.requests) == 4
    d.stop()
