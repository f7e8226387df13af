"""Actions run in process on the fake agent and a virtual clock: each does what it says through
the control plane's operations (so the guards apply), and each run — success, refusal or crash —
is one audit event naming the action, its params and its cause."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from roost._util import event_catalog as events
from roost.actions import ACTIONS, ActionContext, Cause, get_action, run_action
from roost.actions.registry import UnknownAction
from roost.alerts import silences as silence_file
from roost.clock import VirtualClock
from roost.control.dataplane.fake import FakeAgent
from roost.control.errors import OperationError
from roost.control.releases.releasing import cut_release
from roost.control.releases.vault import vault_of
from roost.control.slos.watching import silences_path
from roost.control.wiring import Wiring, wire
from roost.control.workspace import open_workspace
from roost.spec.actions import ACTION_PARAMS
from roost.store import Fence

DIGEST = "sha256:" + "ab" * 32

PROJECT = """\
project: acting
version: 1
environments:
  staging:
    freeze_windows:
      - name: forever
        start: 2000-01-01T00:00:00Z
        end: 2999-01-01T00:00:00Z
  production: {}
services:
  - name: web
    command: python3 app.py
    replicas: {staging: 2, production: 3}
  - name: api
    command: python3 app.py
"""

TICK = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
CAUSE = Cause("schedule", "nightly", tick=TICK)


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[Wiring, FakeAgent]]:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    (tmp_path / "app.py").write_text("")
    clock = VirtualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    agent = FakeAgent()
    with open_workspace(tmp_path, clock=clock) as ws:
        for env in ("staging", "production"):
            view = agent.in_environment(env)
            for service in ("web", "api"):
                view.start_revision("{}", service=service, revision=f"{service}-r1")
                view.scale(service, f"{service}-r1", 2)
                view.set_weights(service, {f"{service}-r1": 100}, fencing_token=None)
        yield wire(ws, connect=lambda: agent), agent


def _replicas(agent: FakeAgent, env: str) -> dict[str, int]:
    services = agent.state()["environments"][env]["services"]
    return {
        name: rev["desired_replicas"] for name, svc in services.items() for rev in svc["revisions"]
    }


def _audit(w: Wiring) -> list[Any]:
    return [e for e in w.ws.store.events.list() if e.type.startswith(events.ACTION)]


def test_every_action_roost_yaml_accepts_is_registered() -> None:
    assert sorted(ACTIONS) == sorted(ACTION_PARAMS)
    for name, action in ACTIONS.items():
        assert get_action(name) is action
        assert action.params_model is ACTION_PARAMS[name]
    with pytest.raises(UnknownAction, match="no action 'scael'; actions are scale, "):
        get_action("scael")


def test_scale_changes_the_serving_revisions_and_is_audited_with_its_cause(
    wired: tuple[Wiring, FakeAgent],
) -> None:
    w, agent = wired
    ctx = ActionContext(w, Cause("trigger", "on-alert", event_id="evt-1"))
    result = run_action("scale", {"service": "web", "environment": "staging", "replicas": 5}, ctx)
    assert result.ok, result.message
    assert _replicas(agent, "staging") == {"web": 5, "api": 2}
    assert _replicas(agent, "production") == {"web": 2, "api": 2}
    scaled = [e for e in w.ws.store.events.list() if e.type == events.SERVICE_SCALED]
    assert [(e.actor, e.data["before"]) for e in scaled] == [("trigger:on-alert", {"web-r1": 2})]
    (audit,) = _audit(w)
    assert audit.type == events.ACTION_SUCCEEDED
    assert audit.actor == "trigger:on-alert"
    assert audit.data["cause"] == {
        "kind": "trigger",
        "name": "on-alert",
        "event_id": "evt-1",
        "tick": None,
        "correlation_id": None,
    }
    assert audit.data["params"] == {"service": "web", "environment": "staging", "replicas": 5}


def test_stop_then_start_an_environment_restores_roost_yaml_replicas(
    wired: tuple[Wiring, FakeAgent],
) -> None:
    w, agent = wired
    ctx = ActionContext(w, CAUSE)
    stopped = run_action("stop-environment", {"environment": "staging"}, ctx)
    assert stopped.ok
    assert _replicas(agent, "staging") == {"web": 0, "api": 0}
    assert _replicas(agent, "production") == {"web": 2, "api": 2}  # environments are boundaries
    started = run_action("start-environment", {"environment": "staging"}, ctx)
    assert started.ok
    assert _replicas(agent, "staging") == {"web": 2, "api": 1}  # as roost.yaml says
    types = [e.type for e in w.ws.store.events.list()[::-1] if e.actor == "schedule:nightly"]
    assert types == [
        events.ENVIRONMENT_STOPPED,
        events.ACTION_SUCCEEDED,
        events.ENVIRONMENT_STARTED,
        events.ACTION_SUCCEEDED,
    ]
    assert _audit(w)[-1].data["cause"]["tick"] == TICK.isoformat()


def test_a_deploy_action_meets_the_same_guards_as_a_person(
    wired: tuple[Wiring, FakeAgent],
) -> None:
    w, _ = wired
    result = run_action(
        "deploy", {"service": "web", "environment": "staging"}, ActionContext(w, CAUSE)
    )
    assert not result.ok
    assert "forever" in result.message  # the freeze window refused it
    (audit,) = _audit(w)
    assert audit.type == events.ACTION_FAILED
    assert audit.data["message"] == result.message
    assert audit.data["result"] == {"status": 423}
    assert w.ws.store.rollouts.list() == []


def test_a_quarantined_digest_is_refused_until_released(wired: tuple[Wiring, FakeAgent]) -> None:
    w, _ = wired
    store = w.ws.store
    cut = cut_release(
        store, w.ws.project, "web", root=w.ws.root, vault=vault_of(w.ws), created_by="test"
    )
    oci = store.releases.create(
        "web",
        artifact=f"oci:{DIGEST}",
        config=cut.config,
        secrets={},
        schema_requires="",
        schema_migrates_to=None,
        created_by="test",
    )
    ctx = ActionContext(w, Cause("trigger", "quarantine-critical", event_id="scan-evt-7"))
    result = run_action("quarantine", {"digest": DIGEST, "reason": "CVE-2026-0001"}, ctx)
    assert result.ok, result.message
    again = run_action("quarantine", {"digest": DIGEST, "reason": "other"}, ctx)
    assert again.message == f"{DIGEST} was already quarantined (CVE-2026-0001)"
    with pytest.raises(OperationError) as refused:
        w.deployments.deploy("web", environment="production", release=oci.id, actor="alice")
    assert refused.value.status == 409
    assert str(refused.value).startswith(f"{oci.id} is quarantined: artifact {DIGEST} (CVE-2026")
    assert refused.value.hint is not None
    assert "roost artifacts release" in refused.value.hint
    (put,) = [e for e in store.events.list() if e.type == events.ARTIFACT_QUARANTINED]
    assert put.data["cause"]["event_id"] == "scan-evt-7"
    assert put.actor == "trigger:quarantine-critical"
    # A release of another artifact is not refused.
    w.deployments.deploy("web", environment="production", actor="alice")
    from roost.actions.quarantining import release

    assert release(store, DIGEST, reason="fixed", actor="bob", source="/t", fence=None)
    assert store.quarantines.get(DIGEST) is None
    from roost.control.guards import DeployContext
    from roost.control.guards.quarantine import NotQuarantined

    ctx_after = DeployContext(
        ws=w.ws,
        service=w.ws.project.service("web"),
        environment="production",
        env=w.ws.project.environments["production"],
        actor="alice",
        now=w.ws.clock.now(),
        release=oci,
    )
    assert NotQuarantined().check(ctx_after) is None


def test_silence_writes_the_silences_the_slo_loop_reads(wired: tuple[Wiring, FakeAgent]) -> None:
    w, _ = wired
    result = run_action(
        "silence",
        {"matchers": {"roost_service": "web"}, "duration": "2h", "comment": "maintenance"},
        ActionContext(w, CAUSE),
    )
    assert result.ok
    (silence,) = silence_file.load(silences_path(w.ws))
    assert silence.matchers == {"roost_service": "web"}
    assert silence.ends_at - silence.starts_at == timedelta(hours=2)
    assert silence.created_by == "schedule:nightly"


def test_a_job_reports_its_exit_code_and_output(wired: tuple[Wiring, FakeAgent]) -> None:
    w, _ = wired
    ctx = ActionContext(w, CAUSE)
    ok = run_action("job", {"command": ["sh", "-c", "echo hello $ROOST_ACTOR"]}, ctx)
    assert ok.ok
    assert ok.data["output_tail"] == "hello schedule:nightly\n"
    bad = run_action("job", {"command": ["sh", "-c", "echo oops >&2; exit 3"]}, ctx)
    assert (bad.ok, bad.message, bad.data["output_tail"]) == (False, "job exited with 3", "oops\n")
    missing = run_action("job", {"command": ["no-such-command-here"]}, ctx)
    assert not missing.ok
    assert missing.message.startswith("cannot run 'no-such-command-here'")


def test_a_cancelled_job_is_killed(wired: tuple[Wiring, FakeAgent]) -> None:
    w, _ = wired
    ctx = ActionContext(w, CAUSE)
    results: list[Any] = []
    runner = threading.Thread(
        target=lambda: results.append(run_action("job", {"command": ["sleep", "60"]}, ctx))
    )
    runner.start()
    time.sleep(0.2)
    ctx.cancel.set()
    runner.join(timeout=20)
    assert not runner.is_alive()
    assert results[0].message == "job cancelled (a newer run replaced it)"


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((dict(self.headers), body))
        self.send_response(500 if body.get("fail") else 204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_webhook_posts_the_body_with_its_cause(wired: tuple[Wiring, FakeAgent]) -> None:
    w, _ = wired
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://user:secret@127.0.0.1:{server.server_port}/hook"
        ctx = ActionContext(w, Cause("trigger", "slack", event_id="evt-9"))
        ok = run_action("webhook", {"url": url, "body": {"text": "hi"}}, ctx)
        failed = run_action("webhook", {"url": url, "body": {"fail": True}}, ctx)
    finally:
        server.shutdown()
        server.server_close()
    assert ok.ok
    assert not failed.ok
    assert failed.data["status"] == 500
    headers, body = _Receiver.received[0]
    assert body == {"text": "hi"}
    assert headers["X-Roost-Cause-Event"] == "evt-9"
    for event in _audit(w):
        assert "secret" not in json.dumps(event.data)
    closed = run_action("webhook", {"url": url, "timeout": "1s"}, ActionContext(w, CAUSE))
    assert not closed.ok
    assert "failed: ConnectError" in closed.message


def test_bad_params_and_unknown_actions_fail_audited(wired: tuple[Wiring, FakeAgent]) -> None:
    w, _ = wired
    ctx = ActionContext(w, CAUSE)
    bad = run_action("scale", {"service": "web", "environment": "staging", "replicas": -1}, ctx)
    assert bad.message.startswith("bad params for scale: replicas: ")
    unknown = run_action("reboot", {}, ctx)
    assert unknown.message.startswith("no action 'reboot'")
    assert [e.data["action"] for e in _audit(w)] == ["reboot", "scale"]  # newest first
    assert {e.type for e in _audit(w)} == {events.ACTION_FAILED}


class _Follower:
    leading = False

    @property
    def fence(self) -> Fence:
        raise OperationError("not the leader; leader is cp-2", status=503)


def test_a_follower_runs_nothing_and_records_nothing(tmp_path: Path) -> None:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    agent = FakeAgent()
    with open_workspace(tmp_path) as ws:
        w = wire(ws, leader=_Follower(), connect=lambda: agent)
        with pytest.raises(OperationError, match="not the leader"):
            run_action("stop-environment", {"environment": "staging"}, ActionContext(w, CAUSE))
        assert ws.store.events.list() == []
