"""The agent's state: one :class:`~roost.agent.scopes.Scope` per environment (runtime + router +
listeners + telemetry, wired together), and the probe SLIs.

Wiring rules, each there for a reason:

* Environments are boundaries: every environment has its own runtime, router, listeners,
  weights and telemetry (see :mod:`scopes`). Every call names its environment; a revision name
  (a release id) may run in two environments at once, and a deploy to one never moves
  another's traffic.
* The runtime reports *ready* endpoints; the agent forwards them to the router, so a replica gets
  traffic only when its probes say so.
* Before the runtime sends SIGTERM, the agent drains the revision in the router, so requests in
  flight finish and no new ones arrive.
* Weight changes carry the control plane's fencing token; the router refuses a stale one, so a
  paused ex-leader cannot move traffic after a new leader took over. Over the API a token counts
  only with the control plane's signature (:mod:`api`): this class trusts its in-process caller.
* Listen ports and weights are saved to ``routes.json`` after every change: a restarted agent
  listens on the same ports with the same split before the control plane says anything (a
  file from before environments is read as the default environment's, see
  :mod:`routes_file`). The file is sealed with the agent's key (``agent.key``, see
  :mod:`roost._util.agentkeys`) and checked when loaded: fencing tokens count only from a file
  bearing the seal.
* A restarted agent adopts the replicas left running and waits (briefly) for their readiness
  before it accepts a connection: a request queued in the listening socket meanwhile (see
  :mod:`handover`) then finds its replicas, instead of a 503.
* Probe SLIs are measured here, through each service's own listener (see :mod:`synthetic`), with
  the targets read from ``project_file``; their counts are kept apart from the request
  telemetry, so a probe result is never mistaken for a revision's request. A service is probed
  in the first environment, in roost.yaml order, where it listens: the one its SLOs measure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from roost._util.agentkeys import AgentKeys
from roost.agent.answers import sli_answer
from roost.agent.handover import HandOver
from roost.agent.routes_file import (
    ENVIRONMENT,
    ENVIRONMENT_PATTERN,
    LEGACY_DIR,
    SavedScope,
    environment_dir,
    load_routes,
    save_routes,
)
from roost.agent.scopes import SUMMARY_WINDOW, AgentError, Scope
from roost.agent.synthetic import PROBES_FILE, SyntheticProber
from roost.clock import Clock, RealClock
from roost.runtime import RevisionSpec, RevisionStatus
from roost.telemetry import TimeSeriesStore
from roost.telemetry.prometheus import render_all

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_ENVIRONMENT", "ENVIRONMENT_PATTERN", "Agent", "AgentError"]

DEFAULT_ENVIRONMENT = "default"
"""The environment an agent without a project file calls its first one."""


class Agent:
    """One machine's data plane. Create, ``await start()``, use, ``await stop()``.

    ``default_environment`` is the project's first environment: the one a ``routes.json``
    written before environments were boundaries belongs to.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        host: str = "127.0.0.1",
        clock: Clock | None = None,
        project_file: Path | None = None,
        default_environment: str = DEFAULT_ENVIRONMENT,
        handover: HandOver | None = None,
    ) -> None:
        self.state_dir = state_dir
        # Where listening sockets come from: inherited from the supervisor, or bound here.
        self.handover = handover if handover is not None else HandOver()
        self.host = host
        self.clock: Clock = clock if clock is not None else RealClock()
        self.default_environment = default_environment
        self.scopes: dict[str, Scope] = {}
        self._keys: AgentKeys | None = None
        self._lock = asyncio.Lock()
        # Probe SLI outcomes: a store of their own (series per service and path).
        self.probes = SyntheticProber(
            project_file=project_file,
            store=TimeSeriesStore(clock=self.clock),
            clock=self.clock,
            host=host,
            port_of=self.listener_port,
            serving=self._serving,
        )

    @property
    def keys(self) -> AgentKeys:
        """The secret shared with the control plane (``agent.key`` in the state directory,
        created by the first agent): the API credential, the fence key, the routes seal."""
        if self._keys is None:
            self._keys = AgentKeys.ensure(self.state_dir)
        return self._keys

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> list[RevisionStatus]:
        """Restore every environment's telemetry, listeners and weights, then adopt the
        replicas a previous agent left running. Returns the adopted revisions."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        snapshot = self.state_dir / PROBES_FILE
        if snapshot.exists():
            try:
                self.probes.store.restore(snapshot)
            except Exception as exc:  # a damaged snapshot costs history, never the agent
                log.warning("telemetry snapshot %s not restored: %s", snapshot, exc)
        saved = load_routes(
            self.state_dir, default_environment=self.default_environment, keys=self.keys
        )
        legacy = self.state_dir / "runtime" / "revisions"
        if legacy.is_dir() and all(scope.dir != LEGACY_DIR for scope in saved.values()):
            # Replicas of an agent from before environments, without its routes.json: they are
            # the default environment's (the only one there was).
            saved.setdefault(self.default_environment, SavedScope(dir=LEGACY_DIR))
        adopted: list[RevisionStatus] = []
        for environment, scope_saved in saved.items():
            scope = self._new_scope(environment, scope_saved)
            adopted += await scope.start()
        self._save_routes()
        self.handover.close_unused()
        self.probes.start()
        return adopted

    async def stop(self, *, stop_workloads: bool = True, grace: float = 5.0) -> None:
        """Stop proxies (letting requests in flight finish) and, by default, every revision.

        With ``stop_workloads=False`` the replicas keep running for the next agent to adopt.
        """
        await self.probes.aclose()
        for scope in self.scopes.values():
            await scope.stop(stop_workloads=stop_workloads, grace=grace)
        self._save_probes()

    def save_telemetry(self) -> None:
        for scope in list(self.scopes.values()):
            scope.save_telemetry()
        self._save_probes()

    def _save_probes(self) -> None:
        try:
            self.probes.store.snapshot(self.state_dir / PROBES_FILE)
        except OSError as exc:
            log.warning("telemetry snapshot %s not written: %s", PROBES_FILE, exc)

    # -- environments -------------------------------------------------------------------------

    def scope(self, environment: str) -> Scope:
        """The environment's data plane; 404 when nothing was ever set up for it here."""
        found = self.scopes.get(environment)
        if found is None:
            raise AgentError(
                f"the agent runs nothing in environment {environment!r}",
                status=404,
                hint=f"environments here: {', '.join(sorted(self.scopes)) or 'none'}; "
                "give a service a listener there first",
            )
        return found

    async def open_scope(self, environment: str) -> Scope:
        """The environment's data plane, set up (and started) on first use."""
        if not ENVIRONMENT.match(environment):
            raise AgentError(
                f"not an environment name: {environment!r}",
                hint='lowercase letters, digits and "-", starting with a letter',
            )
        async with self._lock:
            found = self.scopes.get(environment)
            if found is None:
                found = self._new_scope(environment, SavedScope(dir=environment_dir(environment)))
                await found.start()
                self._save_routes()
        return found

    def _new_scope(self, environment: str, saved: SavedScope) -> Scope:
        scope = Scope(
            environment,
            state_dir=self.state_dir,
            saved=saved,
            host=self.host,
            clock=self.clock,
            save=self._save_routes,
            handover=self.handover,
        )
        self.scopes[environment] = scope
        return scope

    def _save_routes(self) -> None:
        save_routes(
            self.state_dir,
            {env: scope.saved for env, scope in self.scopes.items()},
            keys=self.keys,
        )

    def _probed(self, service: str) -> Scope | None:
        """The environment whose listener probes of ``service`` go to (see the module doc)."""
        order = self.probes.environments or [self.default_environment]
        for environment in [*order, *sorted(self.scopes)]:
            scope = self.scopes.get(environment)
            if scope is not None and service in scope.listeners:
                return scope
        return None

    def _serving(self, service: str) -> bool:
        scope = self._probed(service)
        return scope is not None and bool(scope.runtime.status(service))

    def listener_port(self, service: str, environment: str | None = None) -> int | None:
        """The port of ``service``'s public listener in ``environment`` (default: the one it
        is probed in), ``None`` without one."""
        scope = self.scopes.get(environment) if environment else self._probed(service)
        return None if scope is None else scope.listener_port(service)

    # -- services and revisions ---------------------------------------------------------------

    async def ensure_listener(self, environment: str, service: str, port: int = 0) -> int:
        """Listen for ``service`` in ``environment`` (on ``port``; 0 picks a free one) unless
        already listening; returns the port. A different port for a listening service is
        refused, and so is a port another environment listens on."""
        scope = await self.open_scope(environment)
        if port:
            for other in self.scopes.values():
                for name, listener in other.listeners.items():
                    if listener.port == port and (other, name) != (scope, service):
                        raise AgentError(
                            f"port {port} is {name!r}'s listener in {other.environment}",
                            status=409,
                            hint="give each environment its own port in roost.yaml "
                            "(listen: {dev: 8080, staging: 8081}) or use auto",
                        )
        bound = await scope.ensure_listener(service, port)
        self.probes.refresh()
        return bound

    async def start_revision(self, environment: str, spec: RevisionSpec) -> RevisionStatus:
        status = await self.scope(environment).start_revision(spec)
        self.probes.refresh()  # roost.yaml may have changed with the new revision
        return status

    async def scale(
        self, environment: str, service: str, revision: str, replicas: int
    ) -> RevisionStatus:
        return await self.scope(environment).runtime.scale(service, revision, replicas)

    async def stop_revision(self, environment: str, service: str, revision: str) -> RevisionStatus:
        return await self.scope(environment).stop_revision(service, revision)

    async def put_identity(self, environment: str, service: str, revision: str, token: str) -> None:
        """Hand a running revision its new workload token (written atomically, 0600)."""
        runtime = self.scope(environment).runtime
        try:
            await asyncio.to_thread(runtime.write_identity, service, revision, token)
        except ValueError as exc:
            raise AgentError(str(exc), status=422) from None

    async def set_weights(
        self,
        environment: str,
        service: str,
        weights: Mapping[str, int],
        *,
        fencing_token: int | None,
    ) -> dict[str, int]:
        """Replace the service's weights in ``environment`` atomically (fenced); returns the
        new weight map."""
        return await self.scope(environment).set_weights(
            service, weights, fencing_token=fencing_token
        )

    async def open_preview(self, environment: str, service: str, revision: str, port: int) -> int:
        """Serve ``revision`` alone on ``port`` (0: a free one) until :meth:`close_preview`;
        returns the port. Opening the same preview again is a no-op."""
        return await self.scope(environment).open_preview(service, revision, port)

    async def close_preview(self, environment: str, service: str) -> bool:
        """Stop the preview listener of ``service``; False if there was none."""
        scope = self.scopes.get(environment)
        return False if scope is None else await scope.close_preview(service)

    # -- what the control plane reads ---------------------------------------------------------

    async def state(self, environment: str | None = None) -> dict[str, Any]:
        """Everything ``roost ps`` shows, per environment, as JSON-able data; with
        ``environment``, that environment's part (empty if it runs nothing here)."""
        if environment is not None:
            scope = self.scopes.get(environment)
            if scope is None:
                return {"environment": environment, "services": {}}
            return await scope.state()
        environments = {}
        for name in sorted(self.scopes):
            environments[name] = await self.scopes[name].state()
        return {"default_environment": self.default_environment, "environments": environments}

    def summary(
        self,
        environment: str,
        service: str,
        revision: str,
        *,
        window: timedelta = SUMMARY_WINDOW,
    ) -> dict[str, Any]:
        """Request rate, error ratio and p50/p99 latency of a revision over ``window``."""
        return self.scope(environment).summary(service, revision, window=window)

    def sli_counts(
        self,
        environment: str,
        service: str,
        *,
        window: timedelta,
        under: float | None = None,
        revision: str | None = None,
    ) -> dict[str, Any]:
        """What the SLO engine asks: per-class request counts of all of ``service``'s
        revisions in ``environment`` (or just ``revision``) over ``window``, and how many were
        faster than ``under`` seconds; for the whole service in the environment it is probed
        in, also its probe results (``probes``: good, total and per path) once it was
        probed."""
        scope = self.scopes.get(environment)
        answer = sli_answer(
            environment,
            None if scope is None else scope.series,
            service,
            window=window,
            under=under,
            revision=revision,
        )
        if revision is None and scope is not None and self._probed(service) is scope:
            probes = self.probes.counts(service, window=window)
            if probes is not None:
                answer["probes"] = probes
        return answer

    def render_metrics(self) -> bytes:
        """``/metrics``: every environment's request metrics, labelled with it."""
        return render_all(scope.recorder.metrics for scope in list(self.scopes.values()))

    def log_dirs(self) -> list[Path]:
        """Where every environment's replicas write their logs."""
        return [scope.runtime.log_dir for scope in self.scopes.values()]

    def __repr__(self) -> str:
        return (
            f"Agent(state_dir={str(self.state_dir)!r}, environments="
            f"{ {e: sorted(s.listeners) for e, s in self.scopes.items()} })"
        )
