"""Recording a service's first deploy by ``roost up`` as a promoted rollout.

``up`` starts a service's first revision straight at 100% (there is nothing to compare it
with, ARCHITECTURE.md, principle 5: "first deploys go straight to 100%"). Recording it like any
promoted rollout keeps one history: ``roost history`` lists it, a later rollback knows the
release ran here, and the environment's schema version starts at its ``migrates_to``.
"""

from __future__ import annotations

from roost.control.rollouts.requests import DeployRequest, record_data, record_state
from roost.control.workspace import Workspace
from roost.rollout import Phase, RolloutState, Strategy
from roost.store import Fence


def record_first_deploy(
    ws: Workspace,
    *,
    service: str,
    environment: str,
    release: str,
    actor: str | None,
    fence: Fence | None,
) -> None:
    """Record ``release`` of ``service`` as deployed (promoted) to ``environment`` now."""
    store = ws.store
    if store.rollouts.active(service, environment) is not None:
        return  # a rollout owns the service here; it records its own history
    now = ws.clock.now()
    record = store.releases.get(release)
    state = RolloutState(
        service=service,
        strategy=Strategy.DIRECT,
        canary=release,
        stable=None,
        replicas=0,
        started_at=now,
        phase=Phase.PROMOTED,
        target_weight=100,
        weights={release: 100},
        ended_at=now,
    )
    request = DeployRequest("deploy", environment, actor or "roost", now, extra={"by": "up"})
    line = ("promoted", {"revision": release, "weights": {release: 100}, "first_deploy": True})
    created = store.rollouts.create(
        service,
        environment,
        to_release=release,
        strategy=state.strategy.value,
        state=record_state(state),
        data=record_data(state, request),
        timeline=[line],
        fence=fence,
    )
    store.rollouts.transition(
        created.id,
        expected_version=created.version,
        state=record_state(state),
        ended=True,
        fence=fence,
    )
    if (
        record.schema_migrates_to is not None
        and store.environments.schema_version(environment) is None
    ):
        store.environments.set_schema_version(environment, record.schema_migrates_to, fence=fence)
