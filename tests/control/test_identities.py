"""Delivering workload tokens to what the agent runs (the in-memory agent, a virtual clock):
every running revision gets one, each is renewed at 2/3 of its lifetime, stopped revisions
are forgotten, and a follower signs nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from roost.clock import VirtualClock
from roost.control.dataplane.fake import FakeAgent
from roost.control.operations.identities import IdentityDelivery
from roost.control.wiring import identity_keys
from roost.control.workspace import Workspace, open_workspace
from roost.store import Fence

ISSUER = "https://cp.example.test"
PROJECT = """\
project: shop
version: 1
environments:
  dev: {}
  prod: {}
services:
  - name: web
    command: python3 app.py
    identity:
      audience: [svc-b, https://outside.example.test]
  - name: api
    command: python3 app.py
"""


class _Leader:
    def __init__(self) -> None:
        self.leading = True

    @property
    def fence(self) -> Fence:
        raise AssertionError("delivering tokens writes nothing fenced")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def workspace(tmp_path: Path, clock: VirtualClock) -> Iterator[Workspace]:
    (tmp_path / "roost.yaml").write_text(PROJECT)
    (tmp_path / "app.py").write_text("")
    with open_workspace(tmp_path, clock=clock) as ws:
        yield ws


def _claims(token: str, ws: Workspace, audience: str) -> dict[str, object]:
    jwks = identity_keys(ws).jwks()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK.from_dict(next(k for k in jwks if k["kid"] == kid))
    claims: dict[str, object] = jwt.decode(
        token,
        key,
        algorithms=["ES256"],
        audience=audience,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    return claims


def test_every_running_revision_gets_a_token_renewed_before_it_expires(
    workspace: Workspace, clock: VirtualClock
) -> None:
    agent = FakeAgent()
    agent.in_environment("dev").start_revision("{}", service="web", revision="web-r1")
    agent.in_environment("prod").start_revision("{}", service="web", revision="web-r1")
    agent.in_environment("dev").start_revision("{}", service="api", revision="api-r1")
    leader = _Leader()
    delivery = IdentityDelivery(
        workspace,
        keys=identity_keys(workspace),
        issuer=ISSUER + "/",
        connect=lambda: agent,
        leader=leader,
    )
    first = delivery.deliver_once()
    assert sorted(t.workload.subject for t in first) == [
        "shop/dev/api/api-r1",
        "shop/dev/web/web-r1",
        "shop/prod/web/web-r1",
    ]
    delivered = agent.world.identities
    assert set(delivered) == {
        ("dev", "web", "web-r1"),
        ("prod", "web", "web-r1"),
        ("dev", "api", "api-r1"),
    }
    web = _claims(delivered[("prod", "web", "web-r1")], workspace, "svc-b")
    assert web["sub"] == "shop/prod/web/web-r1"
    assert web["aud"] == ["svc-b", "https://outside.example.test"]
    assert web["iss"] == ISSUER
    api = _claims(delivered[("dev", "api", "api-r1")], workspace, "roost:shop")
    assert api["aud"] == "roost:shop"  # no identity in roost.yaml: the project's default

    # Nothing is due until 2/3 of the lifetime has passed.
    clock.advance(9 * 60)
    assert delivery.deliver_once() == []
    before = dict(delivered)
    clock.advance(60)
    renewed = delivery.deliver_once()
    assert len(renewed) == 3
    assert all(delivered[k] != before[k] for k in before), "each token was replaced"
    renewed_web = _claims(delivered[("prod", "web", "web-r1")], workspace, "svc-b")
    assert renewed_web["iat"] == web["iat"] + 600  # type: ignore[operator]
    assert renewed_web["exp"] > web["exp"]  # type: ignore[operator]

    # A stopped revision is forgotten; a new one gets its token on the next look.
    agent.in_environment("dev").stop_revision("api", "api-r1")
    agent.in_environment("dev").start_revision("{}", service="api", revision="api-r2")
    assert [t.workload.subject for t in delivery.deliver_once()] == ["shop/dev/api/api-r2"]
    assert all(w.revision != "api-r1" for w in delivery.issued)

    # A follower signs nothing, however late it is.
    leader.leading = False
    clock.advance(3600)
    calls = len(agent.calls)
    assert delivery.deliver_once() == []
    assert len(agent.calls) == calls


def test_a_new_tenure_hands_out_fresh_tokens_at_once(
    workspace: Workspace, clock: VirtualClock
) -> None:
    agent = FakeAgent()
    agent.in_environment("dev").start_revision("{}", service="web", revision="web-r1")
    delivery = IdentityDelivery(
        workspace, keys=identity_keys(workspace), issuer=ISSUER, connect=lambda: agent
    )
    fence = Fence(lease_name="control-plane", token=1)
    delivery.take_office(fence)  # what LeaderDuties does when a tenure begins
    delivery.tick(fence)
    assert len(delivery.issued) == 1
    first = agent.world.identities[("dev", "web", "web-r1")]
    clock.advance(1)
    delivery.tick(fence)  # within the interval: no look at all
    assert agent.calls.count(("put_identity", "web")) == 1
    delivery.take_office(Fence(lease_name="control-plane", token=2))
    delivery.tick(Fence(lease_name="control-plane", token=2))
    assert agent.calls.count(("put_identity", "web")) == 2, "a new tenure trusts no earlier one"
    assert agent.world.identities[("dev", "web", "web-r1")] != first


def test_no_agent_means_no_tokens_and_no_error(workspace: Workspace) -> None:
    from roost.control.dataplane.agents import AgentUnavailable

    def unreachable() -> FakeAgent:
        raise AgentUnavailable("no agent")

    delivery = IdentityDelivery(
        workspace, keys=identity_keys(workspace), issuer=ISSUER, connect=unreachable
    )
    assert delivery.deliver_once() == []
