"""The control plane's agent client finds the agent and its credential, or says in one line why
it cannot: no agent, or a credential this user may not read (the agent obeys only the project's
owner)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from roost._util.agentkeys import FENCE_TTL, KEY_FILE, AgentKeys
from roost.control.dataplane.agents import AgentClient, AgentUnavailable


def _agent_file(state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "agent.json").write_text(json.dumps({"url": "http://127.0.0.1:1", "pid": 1}))


def test_without_an_agent_the_client_says_so(tmp_path: Path) -> None:
    with pytest.raises(AgentUnavailable, match="no agent is running") as caught:
        AgentClient.for_project(tmp_path)
    assert caught.value.hint == "start it with `roost up`"


def test_without_a_readable_credential_the_client_refuses_to_connect(tmp_path: Path) -> None:
    _agent_file(tmp_path)
    with pytest.raises(AgentUnavailable, match=r"the agent's credential: .* does not exist") as c:
        AgentClient.for_project(tmp_path)
    assert "run roost as the user who started it" in c.value.hint
    AgentKeys.ensure(tmp_path)
    os.chmod(tmp_path / KEY_FILE, 0o640)
    with pytest.raises(AgentUnavailable, match="readable or writable by others"):
        AgentClient.for_project(tmp_path)


def test_the_client_carries_the_credential_and_signs_its_tokens(tmp_path: Path) -> None:
    _agent_file(tmp_path)
    keys = AgentKeys.ensure(tmp_path)
    sent: list[httpx.Request] = []

    def agent(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"weights": json.loads(request.content)["weights"]})

    with AgentClient.for_project(tmp_path) as client:
        assert keys.credential not in repr(client)
        client._http._transport = httpx.MockTransport(agent)  # what goes on the wire
        dev = client.in_environment("dev")
        dev.set_weights("web", {"web-r1": 100}, fencing_token=7)
        dev.set_weights("web", {"web-r1": 100}, fencing_token=None)
    now = int(client.clock.now().timestamp())
    assert all(r.headers["authorization"] == keys.authorization() for r in sent)
    fenced, unfenced = (json.loads(r.content) for r in sent)
    fence = fenced["fence"]
    assert now < fence["expires"] <= now + FENCE_TTL
    assert keys.fence_signed(
        fence["signature"], environment="dev", service="web", token=7, expires=fence["expires"]
    )
    assert not keys.fence_signed(
        fence["signature"], environment="dev", service="web", token=8, expires=fence["expires"]
    )
    assert "fence" not in unfenced
