"""Probe SLIs through a real agent: examples/hello failing 80 % of its requests behind the
agent's own listener, a probe SLO in roost.yaml, and the agent's
``/v1/environments/dev/services/web/sli``
answer (then the control plane's SLO evaluation) showing a low probe SLI; the counts survive
an agent restart."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from roost.agent import Agent
from roost.agent.api import create_agent_app
from roost.control.slos.reports import AgentSliSource, evaluate, project_targets
from roost.runtime import RevisionSpec
from roost.spec import load_project

HELLO = Path(__file__).parents[2] / "examples" / "hello" / "app.py"

PROJECT = """\
project: probes
version: 1
environments:
  dev: {}
services:
  - name: web
    command: python3 app.py
    slos:
      - name: reachable
        objective: 99
        window: 30d
        sli: {kind: probe, path: /hello, interval: 100ms, timeout: 1s}
"""


class _Caller:
    """The control plane's agent client call, answered by the agent in this process."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def sli_counts(
        self,
        service: str,
        *,
        window: float,
        under: float | None = None,
        revision: str | None = None,
    ) -> dict[str, Any]:
        return self.agent.sli_counts(
            "dev", service, window=timedelta(seconds=window), under=under, revision=revision
        )


async def _wait(condition: Any, *, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.mark.timeout(120)
def test_a_failing_service_shows_a_low_probe_sli(tmp_path: Path) -> None:
    project_file = tmp_path / "roost.yaml"
    project_file.write_text(PROJECT)
    state_dir = tmp_path / ".roost" / "agent"
    spec = RevisionSpec.model_validate(
        {
            "service": "web",
            "revision": "web-r1",
            "command": [sys.executable, str(HELLO)],
            "workdir": tmp_path,
            "env": {"HELLO_FAIL_RATE": "0.8"},
            "grace_period": 2.0,
            "probes": {"readiness": {"http": {"path": "/healthz"}, "period": 0.1, "timeout": 3}},
        }
    )

    async def main() -> None:
        agent = Agent(state_dir, project_file=project_file)
        await agent.start()
        try:
            app = create_agent_app(agent)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://agent",
                headers={"authorization": agent.keys.authorization()},
            ) as api:

                async def sli() -> dict[str, Any]:
                    response = await api.get(
                        "/v1/environments/dev/services/web/sli", params={"window": 60}
                    )
                    response.raise_for_status()
                    data: dict[str, Any] = response.json()
                    return data

                assert "probes" not in await sli()  # no listener yet: nothing probed
                await agent.ensure_listener("dev", "web")
                await agent.start_revision("dev", spec)

                async def ready() -> bool:
                    status = agent.scope("dev").runtime.status("web")
                    return bool(status and status[0].ready_replicas)

                await _wait(ready, timeout=15, what="web-r1 ready")
                await agent.set_weights("dev", "web", {"web-r1": 100}, fencing_token=None)

                async def probed() -> bool:
                    probes = (await sli()).get("probes") or {}
                    return int(probes.get("total", 0)) >= 30

                await _wait(probed, timeout=15, what="30 probes")
                probes = (await sli())["probes"]
                assert set(probes["paths"]) == {"/hello"}
                # 80 % answer 500; the few probes before the weight moved got 503.
                assert probes["good"] / probes["total"] < 0.5, probes
                # A revision's own counts (a canary's) have none: probes are the service's.
                own = await api.get(
                    "/v1/environments/dev/services/web/sli",
                    params={"window": 60, "revision": "web-r1"},
                )
                assert "probes" not in own.json()

            project = load_project(project_file)
            (report,) = evaluate(
                project_targets(project), AgentSliSource(_Caller(agent)), now=datetime.now(UTC)
            )
            assert report.error is None, report.error
            assert report.sli is not None
            assert report.sli < 0.5
            (canary,) = evaluate(
                project_targets(project),
                AgentSliSource(_Caller(agent), revision="web-r1"),
                now=datetime.now(UTC),
            )
            assert canary.error is not None
            assert "not one revision" in canary.error
            await agent.set_weights("dev", "web", {}, fencing_token=None)
        finally:
            await agent.stop(grace=0.5)

        # The outcomes were saved with the telemetry: a new agent still has them.
        again = Agent(state_dir)
        await again.start()
        try:
            assert (
                again.sli_counts("dev", "web", window=timedelta(minutes=5))["probes"]["total"] >= 30
            )
        finally:
            await again.stop(grace=0.5)

    asyncio.run(main())
