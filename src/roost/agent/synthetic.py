"""Synthetic probes: the requests behind probe SLIs (``sli: {kind: probe}`` in roost.yaml).

For each service with a probe SLI, the agent sends ``GET <path>`` to the service's *public
listener* — the proxy address users reach, not a replica — every ``interval``. Black-box on
purpose: a routing mistake, an empty weight table or a proxy fault fails a probe as surely as a
crashed replica, which a per-replica readiness probe would never see. A probe is good when the
status is within ``expect_status`` and the whole answer (body included) came within
``timeout``; a refused connection, a reset, a timeout or any other status is bad. Requests carry
``user-agent: roost-probe/<version>`` so that they are easy to tell apart in the replicas' logs
(they go through the proxy like any request, so they also count in its telemetry).

Why the agent and not the control plane: the data plane outlives the control plane (ARCHITECTURE.md,
principle 8), and an SLO's history should not have holes where ``roost serve`` was down.

The agent reads the project file itself (``roost agent`` passes the one next to its state
directory) and re-reads it when it changes: checked every :data:`RELOAD_EVERY` seconds and
whenever a listener opens or a revision starts. A service is probed while it has a listener and
at least one revision on this agent, so a service that was never deployed (or was taken down
on purpose) does not burn its budget; a service whose replicas all crash does.

Outcomes go to a :class:`~roost.telemetry.TimeSeriesStore` of their own — same buckets, tiers,
retention and window semantics as the request telemetry — with one series per (service, path).
Good probes are recorded as status 200 and bad ones as
:data:`~roost.telemetry.NO_RESPONSE`, because ``expect_status`` may split a status class that
the store would otherwise lump together. The store is saved next to the telemetry snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

import roost
from roost.clock import Clock
from roost.spec import ProbeSli, Project, SpecError, load_project
from roost.spec.fields import status_bounds
from roost.telemetry import NO_RESPONSE, TimeSeriesStore

log = logging.getLogger(__name__)

PROBE_USER_AGENT = f"roost-probe/{roost.__version__}"
PROBES_FILE = "probes.snapshot"
RELOAD_EVERY = 5.0
"""Seconds between checks of the project file for changes (a ``stat``, unless it changed)."""

LOG_EVERY = 60.0
"""Seconds between log lines about one probe target turning bad or good."""

_GOOD = 200


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """What to probe for one service and path: times in seconds."""

    service: str
    path: str
    interval: float
    timeout: float
    expect_status: str

    @classmethod
    def of(cls, service: str, sli: ProbeSli) -> ProbeTarget:
        return cls(
            service=service,
            path=sli.path,
            interval=sli.interval.total_seconds(),
            timeout=sli.timeout.total_seconds(),
            expect_status=str(sli.expect_status),
        )


def probe_targets(project: Project) -> list[ProbeTarget]:
    """One target per service and path that a probe SLI names, in roost.yaml order. Two probe
    SLOs on the same path share one prober (the first one's interval, timeout and statuses),
    since the agent reports probe results per path."""
    found: dict[tuple[str, str], ProbeTarget] = {}
    for service in project.services:
        for slo in service.slos:
            if isinstance(slo.sli, ProbeSli):
                target = ProbeTarget.of(service.name, slo.sli)
                key = (target.service, target.path)
                if key not in found:
                    found[key] = target
                elif found[key] != target:
                    log.warning(
                        "probe SLO %s of %s: %s is already probed with other settings; "
                        "using the first SLO's",
                        slo.name,
                        service.name,
                        target.path,
                    )
    return list(found.values())


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """One probe: good or not, the status (``None`` without a response), seconds, and why."""

    good: bool
    status: int | None
    seconds: float
    reason: str


def status_expected(status: int, expect_status: str) -> bool:
    """Whether ``status`` is within ``expect_status`` (``"200-399"`` or ``"204"``)."""
    low, high = status_bounds(expect_status)
    return low <= status <= high


async def probe_once(
    client: httpx.AsyncClient,
    url: str,
    *,
    timeout: float,
    expect_status: str,
    clock: Clock,
) -> ProbeOutcome:
    """Send one ``GET url`` with ``client`` and classify it. Never raises for a bad answer or
    no answer: that is a bad probe, with the reason."""
    started = clock.monotonic()
    try:
        # The whole exchange within ``timeout``: httpx's own timeouts are per phase (connect,
        # each read), so a server trickling a body could otherwise take many times longer.
        async with asyncio.timeout(timeout):
            response = await client.get(url, timeout=timeout)
    except (TimeoutError, httpx.TimeoutException):
        return ProbeOutcome(False, None, timeout, f"no answer within {timeout:g}s")
    except httpx.HTTPError as exc:
        seconds = clock.monotonic() - started
        return ProbeOutcome(False, None, seconds, f"{type(exc).__name__}: {exc}")
    seconds = clock.monotonic() - started
    status = response.status_code
    if seconds > timeout:
        return ProbeOutcome(False, status, seconds, f"{status} after {seconds:.3f}s (too slow)")
    if not status_expected(status, expect_status):
        return ProbeOutcome(False, status, seconds, f"{status}, expected {expect_status}")
    return ProbeOutcome(True, status, seconds, f"{status} in {seconds * 1000:.0f} ms")


class SyntheticProber:
    """The agent's probers: one asyncio task per probed (service, path), on the agent's loop.

    ``port_of(service)`` is the service's public listener port (``None`` without one) and
    ``serving(service)`` whether any revision of it runs here. Call :meth:`start` on the loop,
    :meth:`refresh` after anything that may change what to probe, :meth:`aclose` at the end.
    """

    def __init__(
        self,
        *,
        project_file: Path | None,
        store: TimeSeriesStore,
        clock: Clock,
        host: str,
        port_of: Callable[[str], int | None],
        serving: Callable[[str], bool],
    ) -> None:
        self.project_file = project_file
        self.store = store
        self._clock = clock
        # A listener on every address is reached on loopback.
        self._host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)  # noqa: S104
        if ":" in self._host and not self._host.startswith("["):
            self._host = f"[{self._host}]"
        self._port_of = port_of
        self._serving = serving
        self._targets: list[ProbeTarget] = []
        self.environments: list[str] = []
        """The project's environment names in file order (from the last good read)."""
        self._seen: tuple[int, int] | None = None  # the project file's (mtime_ns, size)
        self._tasks: dict[tuple[ProbeTarget, int], asyncio.Task[None]] = {}
        self._last: dict[tuple[str, str], ProbeOutcome] = {}
        self._logged: dict[tuple[str, str], float] = {}  # monotonic time of the last line
        self._watch: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        """Probe what the project asks for now, and keep following the project file."""
        self.refresh()
        if self._watch is None and self.project_file is not None:
            self._watch = asyncio.get_running_loop().create_task(self._follow())

    def refresh(self) -> None:
        """Re-read the project file if it changed, then start the probers that are missing
        (a new probe SLI, a new listener) and stop those no longer wanted."""
        self._reload()
        wanted: set[tuple[ProbeTarget, int]] = set()
        for target in self._targets:
            port = self._port_of(target.service)
            if port is not None:
                wanted.add((target, port))
        for key in list(self._tasks):
            if key not in wanted:
                self._tasks.pop(key).cancel()
        loop = asyncio.get_running_loop()
        for key in wanted - set(self._tasks):
            self._tasks[key] = loop.create_task(self._run(*key))

    def counts(self, service: str, *, window: timedelta) -> dict[str, Any] | None:
        """Good and total probes of ``service`` over ``window``, overall and per path; ``None``
        when it was never probed here."""
        paths: dict[str, dict[str, int]] = {}
        for path in self.store.revisions(service):
            counts = self.store.window_counts(service, path, window=window)
            paths[path] = {"good": counts.classes[0], "total": counts.total}
        if not paths:
            return None
        return {
            "good": sum(p["good"] for p in paths.values()),
            "total": sum(p["total"] for p in paths.values()),
            "paths": paths,
        }

    async def aclose(self) -> None:
        """Stop every prober (a probe in flight is abandoned, not counted)."""
        tasks = [*self._tasks.values(), *([self._watch] if self._watch else [])]
        self._tasks.clear()
        self._watch = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- internals ----------------------------------------------------------------------------

    def _reload(self) -> None:
        path = self.project_file
        if path is None:
            return
        try:
            info = path.stat()
        except OSError as exc:
            if self._seen is not None:
                log.warning("cannot read %s (%s); probes go on as they were", path, exc)
                self._seen = None
            return
        seen = (info.st_mtime_ns, info.st_size)
        if seen == self._seen:
            return
        self._seen = seen
        try:
            project = load_project(path)
        except SpecError as exc:
            log.warning("%s has problems; probes go on as they were:\n%s", path, exc)
            return
        self.environments = list(project.environments)
        targets = probe_targets(project)
        if targets != self._targets:
            log.info("probing %s", ", ".join(f"{t.service}{t.path}" for t in targets) or "nothing")
        self._targets = targets

    async def _follow(self) -> None:
        while True:
            await self._clock.asleep(RELOAD_EVERY)
            try:
                self.refresh()
            except Exception:  # a bad reload costs this round, never the prober
                log.exception("reloading the probe targets failed")

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: an HTTP(S)_PROXY in the agent's environment must not send a
            # probe of a local listener somewhere else.
            self._client = httpx.AsyncClient(
                headers={"user-agent": PROBE_USER_AGENT},
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def _run(self, target: ProbeTarget, port: int) -> None:
        url = f"http://{self._host}:{port}{target.path}"
        key = (target.service, target.path)
        due = self._clock.monotonic()
        while True:
            if self._serving(target.service):
                outcome = await probe_once(
                    self._http(),
                    url,
                    timeout=target.timeout,
                    expect_status=target.expect_status,
                    clock=self._clock,
                )
                self.store.add(
                    target.service,
                    target.path,
                    _GOOD if outcome.good else NO_RESPONSE,
                    outcome.seconds,
                )
                self._log(key, url, outcome)
            due += target.interval
            now = self._clock.monotonic()
            due = max(due, now)  # fell behind (a slow probe, a busy loop): no burst to catch up
            await self._clock.asleep(due - now)

    def _log(self, key: tuple[str, str], url: str, outcome: ProbeOutcome) -> None:
        """A line when a probe turns bad or good again; at most one a minute per target, so
        that a flapping service does not fill the agent's log."""
        last = self._last.get(key)
        self._last[key] = outcome
        if last is not None and last.good == outcome.good:
            return
        now = self._clock.monotonic()
        if now - self._logged.get(key, -LOG_EVERY) < LOG_EVERY:
            return
        self._logged[key] = now
        level = logging.INFO if outcome.good else logging.WARNING
        log.log(level, "probe of %s: GET %s: %s", key[0], url, outcome.reason)

    def __repr__(self) -> str:
        probing = []
        for target, port in sorted(self._tasks, key=lambda k: (k[0].service, k[0].path)):
            last = self._last.get((target.service, target.path))
            state = "" if last is None else ("=good" if last.good else "=bad")
            probing.append(f"{target.service}{target.path}@{port}{state}")
        return (
            f"SyntheticProber(project_file={str(self.project_file)!r}, "
            f"probing=[{', '.join(probing)}])"
        )
