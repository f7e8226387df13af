"""One environment's data plane inside the agent: its runtime, its router, its listeners, its
weights, its telemetry.

Environments are boundaries (ARCHITECTURE.md, "Trust boundaries"): each has objects of its own
rather than a key in shared ones, so that nothing done to one can reach another's traffic by
construction — a weight change names a router that only knows this environment's revisions, a
revision name (the release id) may run in dev and in staging at once without the two meeting,
and a canary's telemetry only ever counts requests that came through this environment's
listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from roost.agent.answers import revision_json, sli_answer
from roost.agent.handover import HandOver
from roost.agent.routes_file import SavedScope
from roost.clock import Clock
from roost.runtime import RevisionNotFoundError, RevisionSpec, RevisionStatus
from roost.runtime.local import LocalRuntime
from roost.telemetry import PrometheusMetrics, Recorder, TimeSeriesStore
from roost.traffic import EmbeddedProxy, EmbeddedRouter, Endpoint, StaleFencingToken

log = logging.getLogger(__name__)

TELEMETRY_FILE = "telemetry.snapshot"
SUMMARY_WINDOW = timedelta(minutes=1)
ADOPTED_READY_TIMEOUT = 5.0
"""How long a restarted agent waits for adopted replicas' readiness before it accepts."""


class AgentError(Exception):
    """A request the agent cannot carry out; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 400, hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.hint = hint


@dataclass
class _Listener:
    port: int
    proxy: EmbeddedProxy


class Scope:
    """One environment: create, ``await start()``, use, ``await stop()``.

    ``saved`` is this environment's part of ``routes.json``; ``save`` writes the whole file
    (the agent's, with every environment) after a change.
    """

    def __init__(
        self,
        environment: str,
        *,
        state_dir: Path,
        saved: SavedScope,
        host: str,
        clock: Clock,
        save: Callable[[], None],
        handover: HandOver | None = None,
    ) -> None:
        self.environment = environment
        self.handover = handover if handover is not None else HandOver()
        self.host = host
        self.clock = clock
        self.saved = saved
        self.dir = (state_dir / saved.dir).resolve()
        self._save = save
        self.runtime = LocalRuntime(self.dir / "runtime", clock=clock, host=host)
        self.router = EmbeddedRouter()
        self.series = TimeSeriesStore(clock=clock)
        self.recorder = Recorder(
            clock=clock, store=self.series, metrics=PrometheusMetrics(environment=environment)
        )
        self.listeners: dict[str, _Listener] = {}
        # Blue-green previews: per service, a listener of its own that sends everything to one
        # revision. Its own router, so preview checks never move the live split; this scope's
        # recorder, so preview requests count for the preview revision (only the preview sends
        # it traffic) and its analysis has samples to judge, as auto_promote needs.
        self.previews: dict[str, tuple[str, _Listener]] = {}
        self._lock = asyncio.Lock()
        self._unsubscribe: list[Any] = []

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> list[RevisionStatus]:
        """Restore telemetry and weights, adopt the replicas a previous agent left running in
        this environment, then listen. Returns the adopted revisions."""
        self.dir.mkdir(parents=True, exist_ok=True)
        snapshot = self.dir / TELEMETRY_FILE
        if snapshot.exists():
            try:
                self.series.restore(snapshot)
            except Exception as exc:  # a damaged snapshot costs history, never the agent
                log.warning("telemetry snapshot %s not restored: %s", snapshot, exc)
        self._unsubscribe.append(self.runtime.on_endpoints_changed(self._endpoints_changed))
        self._unsubscribe.append(self.runtime.on_before_stop(self._before_stop))
        for service, weights in self.saved.weights.items():
            token = self.saved.fencing.get(service)
            await self.router.set_weights(service, weights, fencing_token=token)
        # Adopt first, listen last: no connection is accepted before its replicas are known.
        adopted = await self.runtime.adopt()
        for status in adopted:
            self.recorder.known(status.service, status.revision)
            await self._endpoints_changed(status.service, status.revision, status.ready_endpoints)
        await _adopted_ready(self.runtime, timeout=ADOPTED_READY_TIMEOUT)
        for service, port in list(self.saved.listen.items()):
            try:
                await self._listen(service, port)
            except AgentError as exc:
                if service not in self.saved.auto:
                    log.error("cannot listen for %s in %s again: %s", service, self, exc)
                    continue
                bound = await self._listen(service, 0)
                log.warning(
                    "port %d was taken; %s in %s now listens on %d",
                    port,
                    service,
                    self.environment,
                    bound,
                )
                self.saved.listen[service] = bound
                self._save()
        return adopted

    async def stop(self, *, stop_workloads: bool, grace: float) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if stop_workloads:
            for status in self.runtime.status():
                with contextlib.suppress(RevisionNotFoundError):
                    await self.runtime.stop(status.service, status.revision)
        for service in list(self.previews):
            await self.close_preview(service)
        for listener in self.listeners.values():
            await listener.proxy.stop(grace=grace)
        self.listeners.clear()
        self.save_telemetry()
        await self.runtime.aclose()

    def save_telemetry(self) -> None:
        try:
            self.series.snapshot(self.dir / TELEMETRY_FILE)
        except OSError as exc:
            log.warning("telemetry snapshot of %s not written: %s", self.environment, exc)

    def listener_port(self, service: str) -> int | None:
        listener = self.listeners.get(service)
        return None if listener is None else listener.port

    # -- services and revisions ---------------------------------------------------------------

    async def ensure_listener(self, service: str, port: int = 0) -> int:
        async with self._lock:
            current = self.listeners.get(service)
            if current is not None:
                if port not in (0, current.port):
                    raise AgentError(
                        f"service {service!r} already listens on port {current.port} in "
                        f"{self.environment}",
                        status=409,
                        hint="stop its revisions first to change the port",
                    )
                return current.port
            bound = await self._listen(service, port)
            self.saved.listen[service] = bound
            if port == 0:
                self.saved.auto.add(service)
            else:
                self.saved.auto.discard(service)
            self._save()
        return bound

    async def start_revision(self, spec: RevisionSpec) -> RevisionStatus:
        if spec.service not in self.listeners:
            raise AgentError(
                f"service {spec.service!r} has no listener in {self.environment}",
                status=409,
                hint="PUT /v1/environments/{environment}/services/{service}/listener first",
            )
        status = await self.runtime.start(spec)
        self.recorder.known(spec.service, spec.revision)
        routes = await self.router.routes(spec.service)
        if spec.revision not in routes.revisions:
            # Known to the router at weight 0 straight away: reachable by header for checks.
            await self.router.set_endpoints(spec.service, spec.revision, [])
        return status

    async def stop_revision(self, service: str, revision: str) -> RevisionStatus:
        routes = await self.router.routes(service)
        if routes.weights.get(revision, 0) > 0:
            raise AgentError(
                f"revision {revision!r} of {service!r} still has "
                f"{routes.weights[revision]}% of the traffic in {self.environment}",
                status=409,
                hint="move its weight to another revision first (or `roost down` everything)",
            )
        status = await self.runtime.stop(service, revision)
        self.recorder.forget(service, revision)
        return status

    async def set_weights(
        self, service: str, weights: Mapping[str, int], *, fencing_token: int | None
    ) -> dict[str, int]:
        running = {s.revision for s in self.runtime.status(service)}
        unknown = sorted(set(weights) - running)
        if unknown:
            raise AgentError(
                f"service {service!r} runs no revision {', '.join(map(repr, unknown))} in "
                f"{self.environment}",
                status=404,
                hint=f"running there: {', '.join(sorted(running)) or 'none'}",
            )
        try:
            routes = await self.router.set_weights(service, weights, fencing_token=fencing_token)
        except StaleFencingToken as exc:
            raise AgentError(str(exc), status=409, hint="a newer leader has taken over") from None
        self.saved.weights[service] = dict(routes.weights)
        if fencing_token is not None:
            self.saved.fencing[service] = fencing_token
        self._save()
        return dict(routes.weights)

    async def open_preview(self, service: str, revision: str, port: int) -> int:
        async with self._lock:
            current = self.previews.get(service)
            if current is not None and current[0] == revision:
                return current[1].port
        if current is not None:
            await self.close_preview(service)
        running = {s.revision for s in self.runtime.status(service)}
        if revision not in running:
            raise AgentError(
                f"service {service!r} runs no revision {revision!r} in {self.environment}",
                status=404,
            )
        router = EmbeddedRouter()
        proxy = EmbeddedProxy(service, router=router, recorder=self.recorder, clock=self.clock)
        live = await self.router.routes(service)
        route = live.revisions.get(revision)
        await router.set_endpoints(service, revision, route.endpoints if route else ())
        await router.set_weights(service, {revision: 100})
        try:
            bound = await proxy.start(self.host, port)
        except OSError as exc:
            raise AgentError(
                f"cannot open the preview of {service!r} on {self.host}:{port}: {exc.strerror}",
                status=409,
                hint="another program uses that port; change rollout.preview_port",
            ) from None
        self.previews[service] = (revision, _Listener(port=bound, proxy=proxy))
        return bound

    async def close_preview(self, service: str) -> bool:
        preview = self.previews.pop(service, None)
        if preview is None:
            return False
        await preview[1].proxy.stop(grace=1.0)
        return True

    # -- what the control plane reads ---------------------------------------------------------

    async def state(self) -> dict[str, Any]:
        """This environment's services, as ``roost ps`` shows them."""
        table = await self.router.table()
        services: dict[str, Any] = {}
        names = set(self.listeners) | {s.service for s in self.runtime.status()}
        for service in sorted(names):
            routes = table.get(service)
            weights = dict(routes.weights) if routes else {}
            revisions = [
                {
                    **revision_json(status),
                    "weight": weights.get(status.revision, 0),
                    "metrics": self.summary(service, status.revision),
                }
                for status in self.runtime.status(service)
            ]
            listener = self.listeners.get(service)
            preview = self.previews.get(service)
            services[service] = {
                "environment": self.environment,
                "preview": None
                if preview is None
                else {"revision": preview[0], "url": f"http://{self.host}:{preview[1].port}"},
                "listen": listener.port if listener else None,
                "url": f"http://{self.host}:{listener.port}" if listener else None,
                "weights": weights,
                "fencing_token": routes.fencing_token if routes else None,
                "revisions": revisions,
            }
        return {"environment": self.environment, "services": services}

    def summary(
        self, service: str, revision: str, *, window: timedelta = SUMMARY_WINDOW
    ) -> dict[str, Any]:
        """Request rate, error ratio and p50/p99 latency of a revision over ``window``."""
        s = self.series
        return {
            "window_seconds": window.total_seconds(),
            "requests": s.request_count(service, revision, window=window),
            "rps": s.request_rate(service, revision, window=window),
            "error_ratio": s.error_ratio(service, revision, window=window),
            "p50": s.latency_quantile(service, revision, 0.5, window=window),
            "p99": s.latency_quantile(service, revision, 0.99, window=window),
        }

    def sli_counts(
        self,
        service: str,
        *,
        window: timedelta,
        under: float | None = None,
        revision: str | None = None,
    ) -> dict[str, Any]:
        """Per-class request counts of ``service``'s revisions here (or just ``revision``'s)
        over ``window``, and how many were faster than ``under`` seconds."""
        return sli_answer(
            self.environment, self.series, service, window=window, under=under, revision=revision
        )

    # -- internals ----------------------------------------------------------------------------

    async def _listen(self, service: str, port: int) -> int:
        proxy = EmbeddedProxy(service, router=self.router, recorder=self.recorder, clock=self.clock)
        try:
            sock = self.handover.listener(f"{self.environment}/{service}", self.host, port)
            bound = await proxy.start(sock=sock)
        except OSError as exc:
            raise AgentError(
                f"cannot listen for {service!r} in {self.environment} on {self.host}:{port}: "
                f"{exc.strerror}",
                status=409,
                hint="another program uses that port; change `listen` in roost.yaml",
            ) from None
        self.listeners[service] = _Listener(port=bound, proxy=proxy)
        return bound

    async def _endpoints_changed(
        self, service: str, revision: str, endpoints: list[tuple[str, int]]
    ) -> None:
        ready = [Endpoint(host, port) for host, port in endpoints]
        await self.router.set_endpoints(service, revision, ready)
        preview = self.previews.get(service)
        if preview is not None and preview[0] == revision:
            await preview[1].proxy.router.set_endpoints(service, revision, ready)

    async def _before_stop(
        self, service: str, revision: str, endpoints: list[tuple[str, int]]
    ) -> None:
        for host, port in endpoints:
            await self.router.drain(service, revision, endpoint=Endpoint(host, port), timeout=10)

    def __repr__(self) -> str:
        return (
            f"Scope({self.environment!r}, dir={str(self.dir)!r}, listeners="
            f"{ {s: lst.port for s, lst in self.listeners.items()} })"
        )


async def _adopted_ready(runtime: LocalRuntime, *, timeout: float) -> None:
    """Wait until every adopted replica passed its readiness probe once (at most ``timeout``
    seconds: one that does not is left to its probes, as any other)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        waiting = [
            replica
            for status in runtime.status()
            for replica in status.replicas
            if replica.adopted and not replica.ready and replica.pid is not None
        ]
        if not waiting:
            return
        await asyncio.sleep(0.02)
