"""The agent keeps environments apart: one service and one revision name in dev and staging are
two listeners, two sets of replicas, two weight maps and two telemetry series; a port one
environment listens on is refused to another; and a ``routes.json`` written before
environments existed is read as the default environment's, so an upgraded agent re-adopts the
replicas that kept running. Real processes (examples/hello) behind the real proxy."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from roost.agent import Agent, AgentError
from roost.agent.api import create_agent_app
from roost.runtime import RevisionSpec

HELLO = Path(__file__).parents[2] / "examples" / "hello" / "app.py"
MINUTE = timedelta(minutes=1)


def _spec(tmp_path: Path, revision: str = "web-r1") -> RevisionSpec:
    return RevisionSpec.model_validate(
        {
            "service": "web",
            "revision": revision,
            "command": [sys.executable, str(HELLO)],
            "workdir": tmp_path,
            "grace_period": 2.0,
            "probes": {"readiness": {"http": {"path": "/healthz"}, "period": 0.1, "timeout": 3}},
        }
    )


async def _wait(condition: Callable[[], Awaitable[bool]], *, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def _ready(agent: Agent, environment: str, revision: str = "web-r1") -> None:
    async def ready() -> bool:
        status = [
            s for s in agent.scope(environment).runtime.status("web") if s.revision == revision
        ]
        return bool(status and status[0].ready_replicas)

    await _wait(ready, timeout=20, what=f"{revision} ready in {environment}")


async def _answer(port: int) -> tuple[int, str | None]:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"http://127.0.0.1:{port}/")
        return response.status_code, response.headers.get("x-roost-revision")


@pytest.mark.timeout(60)
def test_two_environments_of_one_service_never_meet(tmp_path: Path) -> None:
    async def main() -> None:
        agent = Agent(tmp_path / "agent", default_environment="dev")
        await agent.start()
        try:
            dev = await agent.ensure_listener("dev", "web")
            staging = await agent.ensure_listener("staging", "web")
            assert dev != staging
            await agent.start_revision("dev", _spec(tmp_path))
            await agent.start_revision("staging", _spec(tmp_path))  # same name, other env
            await _ready(agent, "dev")
            await _ready(agent, "staging")
            await agent.set_weights("dev", "web", {"web-r1": 100}, fencing_token=3)
            pids = {
                env: {r.pid for r in agent.scope(env).runtime.status("web")[0].replicas}
                for env in ("dev", "staging")
            }
            assert not pids["dev"] & pids["staging"]

            # Staging has no weights yet: its listener answers 503, dev's serves.
            assert await _answer(dev) == (200, "web-r1")
            assert (await _answer(staging))[0] == 503
            state = await agent.state()
            assert state["environments"]["dev"]["services"]["web"]["weights"] == {"web-r1": 100}
            assert state["environments"]["staging"]["services"]["web"]["weights"] == {"web-r1": 0}

            # A weight change in staging (with another leader's token) leaves dev alone.
            await agent.set_weights("staging", "web", {"web-r1": 100}, fencing_token=1)
            assert await _answer(staging) == (200, "web-r1")
            dev_routes = await agent.scope("dev").router.routes("web")
            assert dev_routes.weights == {"web-r1": 100}
            assert dev_routes.fencing_token == 3

            # A revision that runs in dev only does not exist for staging's router.
            await agent.start_revision("dev", _spec(tmp_path, "web-r2"))
            with pytest.raises(AgentError, match="runs no revision 'web-r2' in staging"):
                await agent.set_weights("staging", "web", {"web-r2": 100}, fencing_token=None)

            # Telemetry: each environment counted its own requests only.
            for _ in range(3):
                await _answer(staging)
            dev_counts = agent.sli_counts("dev", "web", window=MINUTE)
            staging_counts = agent.sli_counts("staging", "web", window=MINUTE)
            assert dev_counts["total"] == 1
            assert staging_counts["total"] == 5  # the 503 before the weights, then 4
            assert staging_counts["classes"]["2xx"] == 4
            metrics = agent.render_metrics().decode()
            line = (
                'roost_requests_total{{code="2xx",code_class="2xx",environment="{}",'
                'revision="web-r1",'
            )
            assert line.format("dev") + 'service="web"} 1.0' in metrics
            assert line.format("staging") + 'service="web"} 4.0' in metrics
            # A started revision is exported at zero before its first request (increase()
            # then counts that request), in its own environment only.
            fresh = 'code="5xx",code_class="5xx",environment="{}",revision="web-r2",'
            assert "roost_requests_total{" + fresh.format("dev") + 'service="web"} 0.0' in metrics
            assert 'environment="staging",revision="web-r2"' not in metrics

            # One port, one environment.
            with pytest.raises(AgentError, match=f"port {dev} is 'web''s listener in dev"):
                await agent.ensure_listener("staging", "api", dev)

            routes = json.loads((tmp_path / "agent" / "routes.json").read_text())
            assert routes["version"] == 2
            assert set(routes["environments"]) == {"dev", "staging"}
            assert routes["environments"]["staging"]["weights"] == {"web": {"web-r1": 100}}
            await agent.stop_revision("dev", "web", "web-r2")  # it never had weight
        finally:
            await agent.stop(grace=0.5)

    asyncio.run(main())


@pytest.mark.timeout(60)
def test_the_agent_api_names_the_environment(tmp_path: Path) -> None:
    async def main() -> None:
        agent = Agent(tmp_path / "agent")
        await agent.start()
        try:
            app = create_agent_app(agent)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://agent",
                headers={"authorization": agent.keys.authorization()},
            ) as api:
                put = await api.put("/v1/environments/qa/services/web/listener", json={})
                assert put.status_code == 200, put.text
                assert put.json()["environment"] == "qa"
                unknown = await api.put(
                    "/v1/environments/prod/services/web/weights", json={"weights": {}}
                )
                assert unknown.status_code == 404
                assert "runs nothing in environment 'prod'" in unknown.json()["error"]
                bad = await api.get("/v1/environments/..%2Fx/state")
                assert bad.status_code in (404, 422)
                scoped = (await api.get("/v1/environments/qa/state")).json()
                assert scoped["services"]["web"]["environment"] == "qa"
                whole = (await api.get("/v1/state")).json()
                assert list(whole["environments"]) == ["qa"]
        finally:
            await agent.stop(grace=0.5)

    asyncio.run(main())


@pytest.mark.timeout(60)
def test_an_upgraded_agent_adopts_the_replicas_of_a_routes_json_without_environments(
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "agent"

    async def before() -> tuple[int, set[int | None]]:
        # What an agent before environments left behind: its runtime in runtime/ and a
        # routes.json with the service keys at the top. Written here through a scope whose
        # directory is the state directory itself, as that agent kept it.
        state_dir.mkdir(parents=True)
        (state_dir / "routes.json").write_text(
            json.dumps({"listen": {}, "auto": [], "weights": {}, "fencing": {}})
        )
        agent = Agent(state_dir, default_environment="dev")
        await agent.start()
        port = await agent.ensure_listener("dev", "web")
        await agent.start_revision("dev", _spec(tmp_path))
        await _ready(agent, "dev")
        await agent.set_weights("dev", "web", {"web-r1": 100}, fencing_token=7)
        pids = {r.pid for r in agent.scope("dev").runtime.status("web")[0].replicas}
        await agent.stop(stop_workloads=False, grace=0.5)
        assert (state_dir / "runtime" / "revisions" / "web" / "web-r1").is_dir()
        legacy = {
            "listen": {"web": port},
            "auto": ["web"],
            "weights": {"web": {"web-r1": 100}},
            "fencing": {"web": 7},
        }
        (state_dir / "routes.json").write_text(json.dumps(legacy))
        return port, pids

    async def after(port: int, pids: set[int | None]) -> None:
        agent = Agent(state_dir, default_environment="dev")
        adopted = await agent.start()
        try:
            assert [(s.service, s.revision) for s in adopted] == [("web", "web-r1")]
            dev = agent.scope("dev")
            assert dev.listener_port("web") == port
            assert {r.pid for r in dev.runtime.status("web")[0].replicas} == pids
            routes = await dev.router.routes("web")
            # The split is kept; the token is not: a file the agent did not seal may hold a
            # forged one (the leader's next signed write sets it again).
            assert (routes.weights, routes.fencing_token) == ({"web-r1": 100}, None)
            await _ready(agent, "dev")
            assert await _answer(port) == (200, "web-r1")
            saved = json.loads((state_dir / "routes.json").read_text())
            assert saved["version"] == 2
            assert saved["environments"]["dev"]["dir"] == "."
        finally:
            await agent.stop(grace=0.5)

    port, pids = asyncio.run(before())
    asyncio.run(after(port, pids))


def test_routes_json_versions_and_where_each_environment_keeps_its_runtime(
    tmp_path: Path,
) -> None:
    from roost.agent.routes_file import load_routes, log_dirs, runtime_dirs

    # Before environments: the keys at the top, the runtime in runtime/.
    (tmp_path / "routes.json").write_text(json.dumps({"listen": {"web": 8080}, "auto": []}))
    (tmp_path / "runtime" / "logs").mkdir(parents=True)
    (legacy,) = load_routes(tmp_path, default_environment="dev").items()
    assert (legacy[0], legacy[1].dir, legacy[1].listen) == ("dev", ".", {"web": 8080})
    assert runtime_dirs(tmp_path, default_environment="dev") == {"dev": tmp_path / "runtime"}
    # Version 2: one directory per environment.
    (tmp_path / "routes.json").write_text(
        json.dumps(
            {
                "version": 2,
                "environments": {
                    "dev": {"dir": ".", "listen": {"web": 8080}},
                    "staging": {"listen": {"web": 8081}},
                },
            }
        )
    )
    assert log_dirs(tmp_path, default_environment="dev") == {
        "dev": tmp_path / "runtime" / "logs",
        "staging": tmp_path / "environments" / "staging" / "runtime" / "logs",
    }
    # A damaged file costs the saved routes, never the agent.
    (tmp_path / "routes.json").write_text("[1, 2")
    assert load_routes(tmp_path, default_environment="dev") == {}
