"""What applying a rollout decision does to the world, one call each: the router's weights
(fenced), the new revision's replicas (started from its release if it does not run yet), the
environment's schema version on promotion, and the audit event of a transition.

Kept apart from :mod:`roost.control.rolling` (which decides *when*) so each stays small; both
carry the control plane's fence on every write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from roost.control.agentapi import AgentApi
from roost.control.agents import AgentRefused
from roost.control.revisions import revision_spec, service_of
from roost.control.workspace import Workspace
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
        """Run ``replicas`` replicas of ``revision``: scale it, or start it from its release
        (code, config snapshot and pinned secrets) when the agent does not run it."""
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
            replicas=replicas,
        )
        listen = service_of(release).listen
        agent.ensure_listener(service, listen if isinstance(listen, int) else 0)
        agent.start_revision(spec.model_dump_json(), service=service, revision=revision)

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

    def audit(self, record: RolloutRecord, lines: Lines, *, actor: str) -> None:
        """One audit event per transition the timeline records, named by its main line."""
        if not lines:
            return
        kinds = [kind for kind, _ in lines]
        headline = next((k for k in _HEADLINES if k in kinds), kinds[-1])
        self.ws.store.events.append(
            f"dev.roost.rollout.{headline}",
            source="roost/control/rollouts",
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
