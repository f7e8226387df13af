"""What applying a rollout decision does to the world, one call each: the router's weights
(fenced), the new revision's replicas (started from its release if it does not run yet), the
environment's schema version on promotion, and the audit event of a transition.

Kept apart from :mod:`roost.control.rollouts.executor` (which decides *when*) so each stays
small; both carry the control plane's fence on every write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from roost._util import event_catalog as events
from roost.control.dataplane.agents import AgentRefused
from roost.control.dataplane.protocol import AgentApi
from roost.control.releases.revisions import revision_spec, service_of
from roost.control.releases.vault import vault_of
from roost.control.rollouts.requests import EXPIRED, DeployRequest, record_data
from roost.control.workspace import Workspace
from roost.rollout import Decision, Phase, RecordTimeline, RolloutState, ScaleCanary, SetWeights
from roost.spec import Environment, Service
from roost.store import Fence, ReleaseRecord, RolloutRecord

Lines = list[tuple[str, dict[str, Any]]]
"""Timeline lines: (kind, detail)."""

# The timeline entry that names a transition's audit event, most telling first.
_HEADLINES = (
    "traffic_reverted",
    "aborted",
    "promoted",
    "paused",
    "resumed",
    "started",
    "approved",
    "approval_requested",
    "schema_migrated",
    "step",
    "traffic_started",
    "analysis",
    "weights",
)


class Applier:
    """Side effects of rollout decisions, for one workspace."""

    def __init__(self, ws: Workspace, *, fence: Callable[[], Fence | None]) -> None:
        self.ws = ws
        self.fence = fence
        self._releases: dict[str, ReleaseRecord] = {}

    def _token(self) -> int | None:
        fence = self.fence()
        return None if fence is None else fence.token

    def release(self, release_id: str) -> ReleaseRecord:
        """A release (cached: releases never change)."""
        found = self._releases.get(release_id)
        if found is None:
            found = self.ws.store.releases.get(release_id)
            self._releases[release_id] = found
        return found

    def spec(self, release_id: str) -> Service:
        """The service spec frozen in a release: what its rollout follows."""
        return service_of(self.release(release_id))

    def environment(self, name: str) -> Environment:
        return self.ws.project.environments.get(name) or Environment()

    def listen_port(self, service: Service, environment: str) -> int:
        """The router port of ``service`` in ``environment`` (0: a free one)."""
        return service.listen_in(environment, order=list(self.ws.project.environments)) or 0

    def set_weights(self, agent: AgentApi, service: str, weights: dict[str, int]) -> None:
        """One atomic, fenced router update."""
        try:
            agent.set_weights(service, weights, fencing_token=self._token())
        except AgentRefused as exc:
            if exc.status != 404:
                raise
            # A revision at weight 0 that does not run (yet): leaving it out means the same.
            agent.set_weights(
                service, {r: w for r, w in weights.items() if w > 0}, fencing_token=self._token()
            )

    def scale(
        self, agent: AgentApi, service: str, *, environment: str, revision: str, replicas: int
    ) -> None:
        """Run ``replicas`` replicas of ``revision`` in ``environment``: scale it, or start it
        from its release (code, config snapshot and pinned secrets) when it does not run there."""
        agent = agent.in_environment(environment)
        try:
            agent.scale(service, revision, replicas)
            return
        except AgentRefused as exc:
            if exc.status != 404:
                raise
        release = self.release(revision)
        spec = revision_spec(
            release,
            environment_name=environment,
            environment=self.environment(environment),
            root=self.ws.root,
            vault=vault_of(self.ws),
            replicas=replicas,
        )
        agent.ensure_listener(service, self.listen_port(service_of(release), environment))
        agent.start_revision(spec.model_dump_json(), service=service, revision=revision)

    def apply(self, agent: AgentApi, service: str, environment: str, action: object) -> bool:
        """Carry out a router or runtime action (weights, canary scale); False for any other
        kind of action, which lives in the rollout state instead."""
        if isinstance(action, SetWeights):
            self.set_weights(agent, service, action.weights)
            return True
        if isinstance(action, ScaleCanary):
            self.scale(
                agent,
                service,
                environment=environment,
                revision=action.revision,
                replicas=action.replicas,
            )
            return True
        return False

    def preview(
        self, agent: AgentApi, record: RolloutRecord, before: RolloutState, state: RolloutState
    ) -> Lines:
        """Blue-green: the new revision answers on its own preview port while on preview."""
        entering = state.phase is Phase.PREVIEW and before.phase is not Phase.PREVIEW
        leaving = before.phase is Phase.PREVIEW and state.phase is not Phase.PREVIEW
        if not (entering or leaving):
            return []
        rollout = self.spec(record.to_release).rollout
        port = getattr(rollout, "preview_port", None)
        if port is None:
            return []
        if entering:
            url = agent.open_preview(record.service, state.canary, port)
            return [("preview_opened", {"revision": state.canary, "url": url})]
        agent.close_preview(record.service)
        return [("preview_closed", {"revision": state.canary})]

    def migrate_schema(self, record: RolloutRecord, environment: str) -> Lines:
        """On promotion: the environment's schema version moves to the release's migration."""
        target = self.release(record.to_release).schema_migrates_to
        if target is None:
            return []
        environments = self.ws.store.environments
        before = environments.schema_version(environment)
        if before == target:
            return []
        environments.set_schema_version(environment, target, fence=self.fence())
        detail = {"environment": environment, "from": before, "to": target}
        return [("schema_migrated", {**detail, "release": record.to_release})]

    def expire_approval(self, record: RolloutRecord, request: DeployRequest) -> None:
        """End a rollout that waited for approval longer than its environment allows."""
        expires = self.environment(request.environment).approval.expires_after
        if expires is None or self.ws.clock.now() < request.requested_at + expires:
            return
        lines: Lines = [("approval_expired", {"after_seconds": expires.total_seconds()})]
        new = self.ws.store.rollouts.transition(
            record.id,
            expected_version=record.version,
            state=EXPIRED,
            data=record_data(None, request.with_changes(waiting=None)),
            ended=True,
            timeline=lines,
            fence=self.fence(),
        )
        self.audit(new, lines, actor="roost")

    def audit(self, record: RolloutRecord, lines: Lines, *, actor: str) -> None:
        """One audit event per transition the timeline records, named by its main line."""
        if not lines:
            return
        kinds = [kind for kind, _ in lines]
        headline = next((k for k in _HEADLINES if k in kinds), kinds[-1])
        self.ws.store.events.append(
            events.ROLLOUT + headline,
            source=events.SOURCE_ROLLOUTS,
            subject=f"{record.service}/{record.environment}",
            data={
                "rollout": record.id,
                "state": record.state,
                "step": record.step,
                "from_release": record.from_release,
                "to_release": record.to_release,
                "timeline": kinds,
                "detail": dict(lines[kinds.index(headline)][1]),
            },
            actor=actor,
            fence=self.fence(),
        )

    def __repr__(self) -> str:
        return f"Applier({self.ws.project.project!r}, releases={len(self._releases)})"


def timeline_of(decision: Decision) -> Lines:
    """The timeline lines a decision records."""
    return [(a.entry, dict(a.detail)) for a in decision.of_kind(RecordTimeline)]


def waiting_of(decision: Decision) -> str | None:
    """What a decision waits for, as the rollout's ``waiting`` line (None: nothing)."""
    wait = decision.wait
    return None if wait is None else wait.reason


def keep_lag(lags: list[float], seconds: float) -> None:
    """Remember how late an analysis ran (for the benchmark), keeping the list bounded."""
    lags.append(seconds)
    if len(lags) > 10_000:
        del lags[:5_000]
