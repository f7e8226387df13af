"""The control plane's operations on the local data plane: up, start, weights, stop, ps.

Each operation is thin: cut or look up a release, map it to a revision spec, tell the agent,
record an event. Traffic changes carry the fencing token of the control plane's lease, so an
agent refuses a control plane that lost its lease (ARCHITECTURE.md, principle 6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from roost._util import event_catalog as events
from roost.control.dataplane.agents import AgentClient
from roost.control.dataplane.protocol import AgentApi
from roost.control.errors import OperationError
from roost.control.fencing import Leader
from roost.control.guards.locks import DeployLocks
from roost.control.operations.first_deploys import record_first_deploy
from roost.control.paths import STATE_DIR
from roost.control.releases.releasing import cut_release
from roost.control.releases.revisions import revision_spec
from roost.control.releases.vault import vault_of
from roost.control.slos.watching import SloWatcher
from roost.control.workspace import Workspace
from roost.spec import Environment, Service
from roost.store import NotFound


def agent_dir(ws: Workspace) -> Path:
    """Where the project's agent keeps its state (and its address)."""
    return ws.root / STATE_DIR / "agent"


class ControlPlane:
    """The operations behind ``/api/v1/services/...`` and ``roost up``."""

    def __init__(
        self,
        ws: Workspace,
        *,
        leadership: Leader | None = None,
        deploy_locks: DeployLocks | None = None,
        connect: Callable[[], AgentApi] | None = None,
    ) -> None:
        """Builds; starts nothing (:mod:`roost.control.wiring` starts the SLO loop)."""
        self.ws = ws
        self.leadership = leadership
        self.deploy_locks = deploy_locks
        """``roost serve``'s: deploys refuse while someone else holds ``deploy/E/S``."""
        self.agent_dir = agent_dir(ws)
        self._connect = connect or (lambda: AgentClient.for_project(self.agent_dir))
        # SLOs and their alerts: `roost serve` (a plane with a lease) evaluates them in a loop
        # and records alert transitions; without one they are evaluated when asked.
        self.slos = SloWatcher(ws, agent_dir=self.agent_dir, leader=leadership)

    def _fence_token(self) -> int | None:
        return self.leadership.fence.token if self.leadership is not None else None

    def connect(self) -> AgentApi:
        """A new connection to the agent (close it); AgentUnavailable when none runs."""
        return self._connect()

    @contextmanager
    def _agent(self, environment: str | None = None) -> Iterator[AgentApi]:
        """The agent; for ``environment``'s services when given (environments are boundaries:
        each has its own revisions, listeners and weights there)."""
        client = self._connect()
        try:
            yield client if environment is None else client.in_environment(environment)
        finally:
            client.close()

    def _listen_port(self, service: Service, environment: str) -> int:
        """The router port of ``service`` in ``environment`` from roost.yaml (0: a free one)."""
        port = service.listen_in(environment, order=list(self.ws.project.environments))
        return int(port or 0)

    def service(self, name: str) -> Service:
        """The service ``name`` of roost.yaml (404 for an unknown one)."""
        try:
            return self.ws.project.service(name)
        except KeyError:
            names = ", ".join(s.name for s in self.ws.project.services)
            raise OperationError(
                f"no service {name!r} in {self.ws.project_file.name}", status=404, hint=names
            ) from None

    def environment(self, name: str | None) -> tuple[str, Environment]:
        """The environment ``name`` (default: the first one) and its spec (404 if unknown)."""
        envs = self.ws.project.environments
        chosen = name or next(iter(envs))
        if chosen not in envs:
            raise OperationError(f"no environment {chosen!r}", status=404, hint=", ".join(envs))
        return chosen, envs[chosen]

    def _event(self, type_: str, subject: str, data: Mapping[str, Any], actor: str | None) -> None:
        if self.leadership is not None and not self.leadership.leading:
            return  # a follower records nothing: the leader does
        fence = self.leadership.fence if self.leadership is not None else None
        self.ws.store.events.append(
            type_,
            source=events.SOURCE_CONTROL,
            subject=subject,
            data=dict(data),
            actor=actor,
            fence=fence,
        )

    # -- operations -----------------------------------------------------------------------------

    def ps(self, environment: str | None = None) -> dict[str, Any]:
        """Every environment's services (``environments``), and ``environment``'s (default:
        the first one) as ``services``."""
        env_name, _ = self.environment(environment)
        with self._agent() as agent:
            state = agent.state()
        chosen = (state.get("environments") or {}).get(env_name) or {}
        state["environment"] = env_name
        state["services"] = chosen.get("services", {})
        state["agent"] = {"url": agent.url}
        return state

    def up(
        self,
        *,
        environment: str | None = None,
        actor: str | None = None,
        secret_env: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Give every service of ``environment`` a listener and, if it runs nothing yet, a
        revision at 100%: the release last promoted there (after ``roost down``), else a first
        release cut now (the first deploy of a service goes straight to full traffic)."""
        env_name, _ = self.environment(environment)
        started = []
        with self._agent(env_name) as agent:
            state = agent.state()["services"]
            for service in self.ws.project.services:
                if not service.runs_in(env_name):
                    continue
                agent.ensure_listener(service.name, self._listen_port(service, env_name))
                if state.get(service.name, {}).get("revisions"):
                    continue
                deployed = self._last_promoted(service.name, env_name)
                revision = self.start_revision(
                    service.name,
                    environment=env_name,
                    release=deployed,
                    actor=actor,
                    secret_env=secret_env,
                )
                if deployed is None:
                    self._record_first_deploy(service.name, env_name, revision, actor=actor)
                started.append(revision)
            return {"started": started, **agent.state()}

    def _last_promoted(self, service: str, environment: str) -> str | None:
        """The release the store says runs ``service`` in ``environment``, if any."""
        for record in self.ws.store.rollouts.list(service, environment, limit=100):
            if record.state == "promoted":
                return record.to_release
        return None

    def _record_first_deploy(
        self, service: str, environment: str, revision: str, *, actor: str | None
    ) -> None:
        """A first revision started by ``up`` is a first deploy: it goes to 100% at once, and is
        recorded as a promoted rollout so that history and rollbacks know it ran here, and the
        environment's schema version starts at its migration."""
        if self.leadership is not None and not self.leadership.leading:
            return
        fence = self.leadership.fence if self.leadership is not None else None
        record_first_deploy(
            self.ws,
            service=service,
            environment=environment,
            release=revision,
            actor=actor,
            fence=fence,
        )

    def start_revision(
        self,
        service_name: str,
        *,
        environment: str | None = None,
        release: str | None = None,
        env_overrides: Mapping[str, str] | None = None,
        replicas: int | None = None,
        actor: str | None = None,
        secret_env: Mapping[str, str] | None = None,
    ) -> str:
        """Start a revision (a new release, or ``release``) at weight 0 — or at 100% when the
        service runs nothing else. Returns the revision name (the release id)."""
        service = self.service(service_name)
        env_name, env = self.environment(environment)
        store = self.ws.store
        if release is None:
            record = cut_release(
                store,
                self.ws.project,
                service.name,
                root=self.ws.root,
                vault=vault_of(self.ws),
                secret_env=secret_env,
                env_overrides=dict(env_overrides or {}),
                created_by=actor or "roost",
            )
        else:
            try:
                record = store.releases.find(release)
            except NotFound:
                raise OperationError(f"no release {release!r}", status=404) from None
            if record.service != service.name:
                raise OperationError(f"release {release!r} is not a release of {service.name!r}")
        spec = revision_spec(
            record,
            environment_name=env_name,
            environment=env,
            root=self.ws.root,
            vault=vault_of(self.ws),
            replicas=replicas,
        )
        with self._agent(env_name) as agent:
            agent.ensure_listener(service.name, self._listen_port(service, env_name))
            before = agent.state()["services"].get(service.name, {})
            agent.start_revision(spec.model_dump_json(), service=service.name, revision=record.id)
            first = not before.get("revisions")
            if first:
                agent.set_weights(service.name, {record.id: 100}, fencing_token=self._fence_token())
        self._event(
            events.REVISION_STARTED,
            service.name,
            {"revision": record.id, "environment": env_name, "weight": 100 if first else 0},
            actor,
        )
        return record.id

    def set_weights(
        self,
        service_name: str,
        weights: Mapping[str, int],
        *,
        environment: str | None = None,
        actor: str | None = None,
    ) -> dict[str, int]:
        """Replace ``service``'s weights in ``environment`` (default: the first one)."""
        service = self.service(service_name)
        env_name, _ = self.environment(environment)
        total = sum(weights.values())
        if total != 100:
            raise OperationError(
                f"weights add up to {total}, not 100", hint="e.g. web-r1=80 web-r2=20"
            )
        with self._agent(env_name) as agent:
            new = agent.set_weights(service.name, weights, fencing_token=self._fence_token())
        self._event(
            events.TRAFFIC_WEIGHTS,
            service.name,
            {"weights": new, "environment": env_name},
            actor,
        )
        return new

    def stop_revision(
        self,
        service_name: str,
        revision: str,
        *,
        environment: str | None = None,
        actor: str | None = None,
    ) -> None:
        service = self.service(service_name)
        env_name, _ = self.environment(environment)
        with self._agent(env_name) as agent:
            agent.stop_revision(service.name, revision)
        self._event(
            events.REVISION_STOPPED,
            service.name,
            {"revision": revision, "environment": env_name},
            actor,
        )

    def query_logs(self, sql: str) -> dict[str, Any]:
        """SQL over every replica's log lines, answered by the agent."""
        with self._agent() as agent:
            return agent.query_logs(sql)

    def adopt(self) -> list[str]:
        """After a (re)start: record what the agent is already running. Nothing is restarted:
        the data plane kept serving while the control plane was away."""
        try:
            with self._agent() as agent:
                environments = agent.state().get("environments") or {}
        except Exception:  # no agent yet: nothing to adopt
            return []
        found = [
            f"{env}/{name}/{rev['revision']}"
            for env, scope in environments.items()
            for name, svc in (scope.get("services") or {}).items()
            for rev in svc.get("revisions", [])
        ]
        if found:
            self._event(events.CONTROL_ADOPTED, self.ws.project.project, {"revisions": found}, None)
        return found
