"""The agent's state: runtime + router + proxies + telemetry, wired together.

Wiring rules, each there for a reason:

* The runtime reports *ready* endpoints; the agent forwards them to the router, so a replica gets
  traffic only when its probes say so.
* Before the runtime sends SIGTERM, the agent drains the revision in the router, so requests in
  flight finish and no new ones arrive.
* Weight changes carry the control plane's fencing token; the router refuses a stale one, so a
  paused ex-leader cannot move traffic after a new leader took over.
* Listen ports and weights are saved to ``routes.json`` after every change: a restarted agent
  listens on the same ports with the same split before the control plane says anything.
* Probe SLIs are measured here, through each service's own listener (see :mod:`synthetic`), with
  the targets read from ``project_file``; their counts are kept apart from the request
  telemetry, so a probe result is never mistaken for a revision's request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from roost.agent.synthetic import PROBES_FILE, SyntheticProber
from roost.clock import Clock, RealClock
from roost.runtime import RevisionNotFoundError, RevisionSpec, RevisionStatus
from roost.runtime.local import LocalRuntime
from roost.telemetry import CODE_CLASSES, Recorder, TimeSeriesStore
from roost.telemetry.counting import WindowCounts
from roost.traffic import EmbeddedProxy, EmbeddedRouter, Endpoint, StaleFencingToken

log = logging.getLogger(__name__)

ROUTES_FILE = "routes.json"
TELEMETRY_FILE = "telemetry.snapshot"
SUMMARY_WINDOW = timedelta(minutes=1)


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


@dataclass
class _Saved:
    """What routes.json holds: per service, the requested listen port and the weights."""

    listen: dict[str, int] = field(default_factory=dict)
    # Services whose port roost picked: after a restart the agent asks for the same port again
    # (clients know it), and only falls back to a new one if another program took it.
    auto: set[str] = field(default_factory=set)
    weights: dict[str, dict[str, int]] = field(default_factory=dict)
    fencing: dict[str, int] = field(default_factory=dict)


class Agent:
    """One machine's data plane. Create, ``await start()``, use, ``await stop()``."""

    def __init__(
        self,
        state_dir: Path,
        *,
        host: str = "127.0.0.1",
        clock: Clock | None = None,
        project_file: Path | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.host = host
        self.clock: Clock = clock if clock is not None else RealClock()
        self.runtime = LocalRuntime(state_dir / "runtime", clock=self.clock, host=host)
        self.router = EmbeddedRouter()
        self.series = TimeSeriesStore(clock=self.clock)
        self.recorder = Recorder(clock=self.clock, store=self.series)
        self._listeners: dict[str, _Listener] = {}
        # Blue-green previews: per service, a listener of its own that sends everything to one
        # revision. Its own router and recorder, so preview checks never move the live split or
        # count in the live revision's analysis.
        self._previews: dict[str, tuple[str, _Listener]] = {}
        self._saved = _Saved()
        self._lock = asyncio.Lock()
        self._unsubscribe: list[Any] = []
        # Probe SLI outcomes: a store of their own (series per service and path).
        self.probes = SyntheticProber(
            project_file=project_file,
            store=TimeSeriesStore(clock=self.clock),
            clock=self.clock,
            host=host,
            port_of=self.listener_port,
            serving=lambda service: bool(self.runtime.status(service)),
        )

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> list[RevisionStatus]:
        """Restore telemetry, listeners and weights, then adopt the replicas a previous agent
        left running. Returns the adopted revisions."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for store, name in ((self.series, TELEMETRY_FILE), (self.probes.store, PROBES_FILE)):
            snapshot = self.state_dir / name
            if snapshot.exists():
                try:
                    store.restore(snapshot)
                except Exception as exc:  # a damaged snapshot costs history, never the agent
                    log.warning("telemetry snapshot %s not restored: %s", snapshot, exc)
        self._unsubscribe.append(self.runtime.on_endpoints_changed(self._endpoints_changed))
        self._unsubscribe.append(self.runtime.on_before_stop(self._before_stop))
        self._saved = self._load_routes()
        for service, port in self._saved.listen.items():
            try:
                await self._listen(service, port)
            except AgentError as exc:
                if service not in self._saved.auto:
                    log.error("cannot listen for %s again: %s", service, exc)
                    continue
                bound = await self._listen(service, 0)
                log.warning("port %d was taken; %s now listens on %d", port, service, bound)
                self._saved.listen[service] = bound
                self._save_routes()
        for service, weights in self._saved.weights.items():
            token = self._saved.fencing.get(service)
            await self.router.set_weights(service, weights, fencing_token=token)
        adopted = await self.runtime.adopt()
        for status in adopted:
            await self._endpoints_changed(status.service, status.revision, status.ready_endpoints)
        self.probes.start()
        return adopted

    async def stop(self, *, stop_workloads: bool = True, grace: float = 5.0) -> None:
        """Stop proxies (letting requests in flight finish) and, by default, every revision.

        With ``stop_workloads=False`` the replicas keep running for the next agent to adopt.
        """
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        await self.probes.aclose()
        if stop_workloads:
            for status in self.runtime.status():
                with contextlib.suppress(RevisionNotFoundError):
                    await self.runtime.stop(status.service, status.revision)
        for service in list(self._previews):
            await self.close_preview(service)
        for listener in self._listeners.values():
            await listener.proxy.stop(grace=grace)
        self._listeners.clear()
        self.save_telemetry()
        await self.runtime.aclose()

    def save_telemetry(self) -> None:
        for store, name in ((self.series, TELEMETRY_FILE), (self.probes.store, PROBES_FILE)):
            try:
                store.snapshot(self.state_dir / name)
            except OSError as exc:
                log.warning("telemetry snapshot %s not written: %s", name, exc)

    def listener_port(self, service: str) -> int | None:
        """The port of ``service``'s public listener, ``None`` without one."""
        listener = self._listeners.get(service)
        return None if listener is None else listener.port

    # -- services and revisions ---------------------------------------------------------------

    async def ensure_listener(self, service: str, port: int = 0) -> int:
        """Listen for ``service`` (on ``port``; 0 picks a free one) unless already listening;
        returns the port. A different port for a listening service is refused."""
        async with self._lock:
            current = self._listeners.get(service)
            if current is not None:
                if port not in (0, current.port):
                    raise AgentError(
                        f"service {service!r} already listens on port {current.port}",
                        status=409,
                        hint="stop its revisions first to change the port",
                    )
                return current.port
            bound = await self._listen(service, port)
            self._saved.listen[service] = bound
            if port == 0:
                self._saved.auto.add(service)
            self._save_routes()
        self.probes.refresh()
        return bound

    async def start_revision(self, spec: RevisionSpec) -> RevisionStatus:
        if spec.service not in self._listeners:
            raise AgentError(
                f"service {spec.service!r} has no listener",
                status=409,
                hint="PUT /v1/services/{service}/listener first",
            )
        status = await self.runtime.start(spec)
        routes = await self.router.routes(spec.service)
        if spec.revision not in routes.revisions:
            # Known to the router at weight 0 straight away: reachable by header for checks.
            await self.router.set_endpoints(spec.service, spec.revision, [])
        self.probes.refresh()  # roost.yaml may have changed with the new revision
        return status

    async def scale(self, service: str, revision: str, replicas: int) -> RevisionStatus:
        return await self.runtime.scale(service, revision, replicas)

    async def stop_revision(self, service: str, revision: str) -> RevisionStatus:
        routes = await self.router.routes(service)
        if routes.weights.get(revision, 0) > 0:
            raise AgentError(
                f"revision {revision!r} of {service!r} still has "
                f"{routes.weights[revision]}% of the traffic",
                status=409,
                hint="move its weight to another revision first (or `roost down` everything)",
            )
        status = await self.runtime.stop(service, revision)
        self.recorder.forget(service, revision)
        return status

    async def set_weights(
        self, service: str, weights: Mapping[str, int], *, fencing_token: int | None
    ) -> dict[str, int]:
        """Replace the service's weights atomically (fenced); returns the new weight map."""
        running = {s.revision for s in self.runtime.status(service)}
        unknown = sorted(set(weights) - running)
        if unknown:
            raise AgentError(
                f"service {service!r} runs no revision {', '.join(map(repr, unknown))}",
                status=404,
                hint=f"running: {', '.join(sorted(running)) or 'none'}",
            )
        try:
            routes = await self.router.set_weights(service, weights, fencing_token=fencing_token)
        except StaleFencingToken as exc:
            raise AgentError(str(exc), status=409, hint="a newer leader has taken over") from None
        self._saved.weights[service] = dict(routes.weights)
        if fencing_token is not None:
            self._saved.fencing[service] = fencing_token
        self._save_routes()
        return dict(routes.weights)

    async def open_preview(self, service: str, revision: str, port: int) -> int:
        """Serve ``revision`` alone on ``port`` (0: a free one) until :meth:`close_preview`;
        returns the port. Opening the same preview again is a no-op."""
        async with self._lock:
            current = self._previews.get(service)
            if current is not None and current[0] == revision:
                return current[1].port
        if current is not None:
            await self.close_preview(service)
        running = {s.revision for s in self.runtime.status(service)}
        if revision not in running:
            raise AgentError(f"service {service!r} runs no revision {revision!r}", status=404)
        router = EmbeddedRouter()
        proxy = EmbeddedProxy(
            service, router=router, recorder=Recorder(clock=self.clock), clock=self.clock
        )
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
        self._previews[service] = (revision, _Listener(port=bound, proxy=proxy))
        return bound

    async def close_preview(self, service: str) -> bool:
        """Stop the preview listener of ``service``; False if there was none."""
        preview = self._previews.pop(service, None)
        if preview is None:
            return False
        await preview[1].proxy.stop(grace=1.0)
        return True

    # -- what the control plane reads ---------------------------------------------------------

    async def state(self) -> dict[str, Any]:
        """Everything ``roost ps`` shows, as JSON-able data."""
        table = await self.router.table()
        services: dict[str, Any] = {}
        names = set(self._listeners) | {s.service for s in self.runtime.status()}
        for service in sorted(names):
            routes = table.get(service)
            weights = dict(routes.weights) if routes else {}
            revisions = []
            for status in self.runtime.status(service):
                revisions.append(
                    {
                        **_revision_json(status),
                        "weight": weights.get(status.revision, 0),
                        "metrics": self.summary(service, status.revision),
                    }
                )
            listener = self._listeners.get(service)
            preview = self._previews.get(service)
            services[service] = {
                "preview": None
                if preview is None
                else {"revision": preview[0], "url": f"http://{self.host}:{preview[1].port}"},
                "listen": listener.port if listener else None,
                "url": f"http://{self.host}:{listener.port}" if listener else None,
                "weights": weights,
                "fencing_token": routes.fencing_token if routes else None,
                "revisions": revisions,
            }
        return {"services": services}

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
        """What the SLO engine asks: per-class request counts of all of ``service``'s
        revisions (or just ``revision``) over ``window``, and how many were faster than
        ``under`` seconds; for the whole service, also its probe results (``probes``: good,
        total and per path) once it was probed."""
        revisions = self.series.revisions(service)
        if revision is not None:
            revisions = [r for r in revisions if r == revision]
        total = WindowCounts(under=None if under is None else 0)
        for name in revisions:
            total += self.series.window_counts(service, name, window=window, under=under)
        answer: dict[str, Any] = {
            "window_seconds": window.total_seconds(),
            "revisions": revisions,
            "classes": dict(zip(CODE_CLASSES, total.classes, strict=True)),
            "total": total.total,
            "under": total.under,
        }
        if revision is None:  # probes are the service's, not one revision's
            probes = self.probes.counts(service, window=window)
            if probes is not None:
                answer["probes"] = probes
        return answer

    # -- internals ----------------------------------------------------------------------------

    async def _listen(self, service: str, port: int) -> int:
        proxy = EmbeddedProxy(service, router=self.router, recorder=self.recorder, clock=self.clock)
        try:
            bound = await proxy.start(self.host, port)
        except OSError as exc:
            raise AgentError(
                f"cannot listen for {service!r} on {self.host}:{port}: {exc.strerror}",
                status=409,
                hint="another program uses that port; change `listen` in roost.yaml",
            ) from None
        self._listeners[service] = _Listener(port=bound, proxy=proxy)
        return bound

    async def _endpoints_changed(
        self, service: str, revision: str, endpoints: list[tuple[str, int]]
    ) -> None:
        ready = [Endpoint(host, port) for host, port in endpoints]
        await self.router.set_endpoints(service, revision, ready)
        preview = self._previews.get(service)
        if preview is not None and preview[0] == revision:
            await preview[1].proxy.router.set_endpoints(service, revision, ready)

    async def _before_stop(
        self, service: str, revision: str, endpoints: list[tuple[str, int]]
    ) -> None:
        for host, port in endpoints:
            await self.router.drain(service, revision, endpoint=Endpoint(host, port), timeout=10)

    def _load_routes(self) -> _Saved:
        path = self.state_dir / ROUTES_FILE
        try:
            data = json.loads(path.read_text())
            return _Saved(
                listen={str(k): int(v) for k, v in data.get("listen", {}).items()},
                auto={str(s) for s in data.get("auto", [])},
                weights={
                    str(s): {str(r): int(w) for r, w in ws.items()}
                    for s, ws in data.get("weights", {}).items()
                },
                fencing={str(k): int(v) for k, v in data.get("fencing", {}).items()},
            )
        except FileNotFoundError:
            return _Saved()
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            log.error("ignoring damaged %s: %s", path, exc)
            return _Saved()

    def _save_routes(self) -> None:
        path = self.state_dir / ROUTES_FILE
        tmp = path.with_suffix(".tmp")
        data = {
            "listen": self._saved.listen,
            "auto": sorted(self._saved.auto),
            "weights": self._saved.weights,
            "fencing": self._saved.fencing,
        }
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)

    def __repr__(self) -> str:
        return (
            f"Agent(state_dir={str(self.state_dir)!r}, listeners="
            f"{ {s: lst.port for s, lst in self._listeners.items()} })"
        )


def _revision_json(status: RevisionStatus) -> dict[str, Any]:
    replicas = []
    for r in status.replicas:
        term = r.last_termination
        replicas.append(
            {
                "index": r.index,
                "state": str(r.state),
                "ready": r.ready,
                "port": r.port,
                "pid": r.pid,
                "restarts": r.restarts,
                "adopted": r.adopted,
                "message": r.message,
                "last_exit": None if term is None else term.describe(),
                "log_tail": [] if term is None else list(term.log_tail[-5:]),
                "probes": [
                    {"kind": p.kind, "passing": p.passing, "message": p.last_message}
                    for p in r.probes
                ],
            }
        )
    return {
        "revision": status.revision,
        "phase": status.phase,
        "desired_replicas": status.desired_replicas,
        "ready_replicas": status.ready_replicas,
        "replicas": replicas,
    }
