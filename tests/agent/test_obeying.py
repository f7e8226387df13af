"""The agent obeys only its control plane: every route but ``/healthz`` and ``/metrics`` needs
the agent's credential (401 without), a fencing token needs the control plane's signature (403
without, and it never reaches the router or ``routes.json``), and a restarted agent trusts no
fencing token from a ``routes.json`` it did not seal. The agent in this process, its API over
ASGI, a real replica (examples/hello)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import stat
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from tests._roost import roost

from roost._util.agentkeys import FENCE_TTL, KEY_FILE, AgentKeyError, AgentKeys
from roost.agent import Agent
from roost.agent.api import PUBLIC_PATHS, create_agent_app
from roost.agent.supervising import _saved_listeners
from roost.runtime import RevisionSpec

HELLO = Path(__file__).parents[2] / "examples" / "hello" / "app.py"
FORGED = 9007199254740991


def _spec(tmp_path: Path) -> RevisionSpec:
    return RevisionSpec.model_validate(
        {
            "service": "web",
            "revision": "web-r1",
            "command": [sys.executable, str(HELLO)],
            "workdir": tmp_path,
            "grace_period": 2.0,
        }
    )


def _api(agent: Agent, authorization: str | None) -> httpx.AsyncClient:
    headers = {} if authorization is None else {"authorization": authorization}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_agent_app(agent)),
        base_url="http://agent",
        headers=headers,
    )


def _signed(
    keys: AgentKeys, token: int, *, expires: int, service: str = "web", environment: str = "dev"
) -> dict[str, object]:
    signature = keys.sign_fence(
        environment=environment, service=service, token=token, expires=expires
    )
    return {"expires": expires, "signature": signature}


@pytest.mark.timeout(60)
def test_every_route_but_health_and_metrics_needs_the_credential(tmp_path: Path) -> None:
    async def main() -> None:
        agent = Agent(tmp_path / "agent")
        await agent.start()
        try:
            app = create_agent_app(agent)
            routes = [r for r in app.routes if isinstance(r, APIRoute)]
            assert len(routes) >= 12, "the enumeration must see the agent's routes"
            for authorization in (None, "Bearer " + "0" * 64, "Basic cm9vdDpyb290"):
                async with _api(agent, authorization) as api:
                    for route in routes:
                        path = re.sub(r"\{[^}]+\}", "dev", route.path)
                        for method in sorted(route.methods):
                            response = await api.request(method, path, json={})
                            if route.path in PUBLIC_PATHS:
                                assert response.status_code == 200, (method, path)
                                continue
                            assert response.status_code == 401, (method, path, authorization)
                            assert "obeys only its control plane" in response.json()["error"]
                    # Not even the OpenAPI document, and no route added later either.
                    assert (await api.get("/openapi.json")).status_code == 401
                    assert (await api.get("/v1/anything-new")).status_code == 401
            assert agent.scopes == {}, "no refused call may have set anything up"
            assert not (tmp_path / "agent" / "routes.json").read_text().count("dev")
            async with _api(agent, agent.keys.authorization()) as api:
                assert (await api.get("/v1/state")).status_code == 200
        finally:
            await agent.stop(grace=0.5)

    asyncio.run(main())


@pytest.mark.timeout(60)
def test_a_forged_fencing_token_is_refused_and_never_saved(tmp_path: Path) -> None:
    state_dir = tmp_path / "agent"
    routes_file = state_dir / "routes.json"

    async def main() -> None:
        agent = Agent(state_dir, default_environment="dev")
        await agent.start()
        keys = agent.keys
        now = int(agent.clock.now().timestamp())
        try:
            await agent.ensure_listener("dev", "web")
            await agent.start_revision("dev", _spec(tmp_path))
            weights = "/v1/environments/dev/services/web/weights"
            async with _api(agent, keys.authorization()) as api:
                ok = await api.put(
                    weights,
                    json={
                        "weights": {"web-r1": 100},
                        "fencing_token": 3,
                        "fence": _signed(keys, 3, expires=now + FENCE_TTL),
                    },
                )
                assert ok.status_code == 200, ok.text
                other = AgentKeys(b"\x01" * 32)
                forgeries = {
                    "unsigned": {},
                    "another key": {"fence": _signed(other, FORGED, expires=now + FENCE_TTL)},
                    "another service": {
                        "fence": _signed(keys, FORGED, expires=now + FENCE_TTL, service="api")
                    },
                    "another environment": {
                        "fence": _signed(keys, FORGED, expires=now + FENCE_TTL, environment="qa")
                    },
                    "expired": {"fence": _signed(keys, FORGED, expires=now - 5)},
                    "forever": {"fence": _signed(keys, FORGED, expires=now + 10**9)},
                }
                for what, extra in forgeries.items():
                    body = {"weights": {"web-r1": 100}, "fencing_token": FORGED, **extra}
                    refused = await api.put(weights, json=body)
                    assert refused.status_code == 403, (what, refused.text)
                    assert f"fencing token {FORGED}" in refused.json()["error"], what
                    routes = await agent.scope("dev").router.routes("web")
                    assert routes.fencing_token == 3, what
                    assert str(FORGED) not in routes_file.read_text(), what
                # The leader is not locked out: its next signed token moves traffic.
                ok = await api.put(
                    weights,
                    json={
                        "weights": {"web-r1": 100},
                        "fencing_token": 4,
                        "fence": _signed(keys, 4, expires=now + FENCE_TTL),
                    },
                )
                assert ok.status_code == 200, ok.text
        finally:
            await agent.stop(stop_workloads=False, grace=0.5)
        # A restarted agent trusts the token in the file it sealed itself.
        again = Agent(state_dir, default_environment="dev")
        await again.start()
        try:
            assert (await again.scope("dev").router.routes("web")).fencing_token == 4
        finally:
            await again.stop(grace=0.5)

    asyncio.run(main())


@pytest.mark.timeout(60)
def test_a_restarted_agent_is_not_poisoned_by_an_edited_routes_json(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state_dir = tmp_path / "agent"
    routes_file = state_dir / "routes.json"

    async def main() -> None:
        agent = Agent(state_dir, default_environment="dev")
        await agent.start()
        port = await agent.ensure_listener("dev", "web")
        await agent.set_weights("dev", "web", {}, fencing_token=2)
        await agent.stop(grace=0.5)
        assert stat.S_IMODE(routes_file.stat().st_mode) == 0o600
        saved = json.loads(routes_file.read_text())
        assert "seal" in saved
        # What someone who could write the file (or an older agent, before tokens were signed,
        # after a forged call) left in it: a token far ahead, and a runtime elsewhere.
        saved["environments"]["dev"]["fencing"]["web"] = FORGED
        saved["environments"]["qa"] = {"dir": "../../../etc", "listen": {}}
        routes_file.write_text(json.dumps(saved))

        again = Agent(state_dir, default_environment="dev")
        with caplog.at_level(logging.ERROR, logger="roost.agent.routes_file"):
            await again.start()
        try:
            dev = again.scope("dev")
            assert dev.listener_port("web") == port, "the saved listener is kept"
            assert (await dev.router.routes("web")).fencing_token is None
            assert "qa" not in again.scopes
            assert "does not carry this agent's seal" in caplog.text
            assert "../../../etc" in caplog.text
            await again.set_weights("dev", "web", {}, fencing_token=1)
        finally:
            await again.stop(grace=0.5)
        assert str(FORGED) not in routes_file.read_text()

    asyncio.run(main())


def test_the_agent_key_is_private_and_a_leaked_one_is_refused(tmp_path: Path) -> None:
    keys = AgentKeys.ensure(tmp_path / "agent")
    key_file = tmp_path / "agent" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "agent").stat().st_mode) == 0o700
    assert AgentKeys.ensure(tmp_path / "agent") == keys, "the secret is created once"
    assert keys.credential not in repr(keys)
    assert keys.secret.hex() not in repr(keys)
    # One value per use: the credential is no fence key and no seal.
    assert keys.credential != keys.seal(b"")
    os.chmod(key_file, 0o644)
    with pytest.raises(AgentKeyError, match="readable or writable by others"):
        AgentKeys.load(tmp_path / "agent")
    with pytest.raises(AgentKeyError, match="does not exist"):
        AgentKeys.load(tmp_path / "elsewhere")


def test_the_supervisor_binds_only_ports_the_agent_would_accept(tmp_path: Path) -> None:
    routes = tmp_path / "routes.json"
    listen = {"web": 8080, "big": 70000, "negative": -1, "flag": True, "text": "80"}
    routes.write_text(json.dumps({"version": 2, "environments": {"dev": {"listen": listen}}}))
    assert _saved_listeners(routes) == {"dev/web": 8080}


@pytest.mark.timeout(120)
def test_an_agent_with_a_leaked_key_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    root = tmp_path / "hello"
    shutil.copytree(HELLO.parent, root)
    key_file = root / ".roost" / "agent" / KEY_FILE
    key_file.parent.mkdir(parents=True)
    key_file.write_text("ab" * 32 + "\n")
    key_file.chmod(0o644)
    started = roost("agent", "--project", str(root), timeout=90)
    assert started.returncode == 1
    assert "readable or writable by others" in started.stderr
    assert "Traceback" not in started.stderr + started.stdout
