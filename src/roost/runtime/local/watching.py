"""Watching one run of a replica until it ends.

Startup gates the rest: until the startup probe passes, readiness and liveness are not probed
(Kubernetes semantics). A readiness verdict changes whether the replica gets traffic; a failed
startup or liveness probe, or memory over the limit, asks for the process to be killed — with
SIGTERM and the grace period for probes, with SIGKILL at once for memory (a process that is
over its limit must not keep growing for the grace period).

Memory limits are enforced by an RSS watchdog rather than ``RLIMIT_AS``: address-space limits
count memory a program reserves but never touches (Go, the JVM and glibc arenas reserve a lot),
so they kill healthy programs, and a program that hits one gets a failed allocation — often a
traceback or a hang — instead of a clean kill that can be reported as ``OOMKilled``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from roost.clock import Clock
from roost.runtime.local.layout import RevisionPaths
from roost.runtime.local.ports import PortBook
from roost.runtime.local.probing import CheckResult, ProbeTarget, ProbeWorker, check
from roost.runtime.local.processes import ProcessIdentity, group_rss_bytes, wait_exited
from roost.runtime.local.running import Kill, Run
from roost.runtime.local.tasks import cancel_and_wait
from roost.runtime.specs import RevisionSpec
from roost.runtime.statuses import ProbeStatus, ReplicaState, Termination, TerminationReason

_MIB = 1024 * 1024


@dataclass(frozen=True)
class ReplicaContext:
    """What all replicas of one revision share."""

    spec: RevisionSpec
    paths: RevisionPaths
    host: str
    clock: Clock
    http_client: httpx.AsyncClient
    ports: PortBook
    base_env: Mapping[str, str]
    poll_interval: float
    log_max_bytes: int
    log_backups: int
    log_tail_lines: int
    on_ready_changed: Callable[[], Awaitable[None]]
    """Awaited after a replica became ready or stopped being ready."""
    on_record_changed: Callable[[], None]
    """Called when what the state file says about a replica changed."""


class RunWatcher:
    """Probes one run and waits for it to end, by itself or because it must be killed."""

    def __init__(
        self,
        run: Run,
        ctx: ReplicaContext,
        *,
        log_file: Path,
        set_state: Callable[[ReplicaState, str], None],
        set_ready: Callable[[bool], Awaitable[None]],
    ) -> None:
        self.run = run
        self.ctx = ctx
        self._log_file = log_file
        self._set_state = set_state
        self._set_ready = set_ready
        self._probes: dict[str, ProbeWorker] = {}
        self._probe_tasks: dict[str, asyncio.Task[None]] = {}
        self._kill: Kill | None = None
        self._kill_requested = asyncio.Event()

    def probe_statuses(self) -> tuple[ProbeStatus, ...]:
        """The latest verdict of each probe started for this run."""
        return tuple(worker.status() for worker in self._probes.values())

    async def stop_probes(self) -> None:
        """Cancel the probe loops (idempotent)."""
        tasks = list(self._probe_tasks.values())
        self._probe_tasks.clear()
        await cancel_and_wait(tasks)

    async def watch(self) -> Termination:
        """Until the process has exited; then how it ended."""
        run = self.run
        assert run.process is not None
        process = run.process
        self._set_state(ReplicaState.STARTING, "starting")
        helpers: list[asyncio.Task[None]] = []
        exited = asyncio.create_task(
            wait_exited(process, clock=self.ctx.clock, poll=self.ctx.poll_interval)
        )
        kill_wanted = asyncio.create_task(self._kill_requested.wait())
        try:
            if self.ctx.spec.memory_limit_bytes is not None:
                helpers.append(asyncio.create_task(self._watch_memory(process)))
            startup = self.ctx.spec.probes.startup
            if startup is None:
                await self._mark_started(run)
            else:
                self._start_probe("startup", run, once=True)
            await asyncio.wait({exited, kill_wanted}, return_when=asyncio.FIRST_COMPLETED)
            await self.stop_probes()
            await self._set_ready(False)
            kill = self._kill
            if kill is not None and not exited.done():
                self._set_state(ReplicaState.TERMINATING, kill.message)
                await run.terminate(
                    graceful=kill.graceful,
                    grace_period=self.ctx.spec.grace_period,
                    clock=self.ctx.clock,
                )
            await exited
            return await run.finish(
                kill or Kill(None),
                clock=self.ctx.clock,
                log_file=self._log_file,
                tail=self.ctx.log_tail_lines,
            )
        finally:
            await cancel_and_wait([exited, kill_wanted, *helpers])
            await self.stop_probes()

    async def _mark_started(self, run: Run) -> None:
        probes = self.ctx.spec.probes
        self._set_state(ReplicaState.RUNNING, "running")
        if probes.readiness is not None:
            self._start_probe("readiness", run)
        if probes.liveness is not None:
            self._start_probe("liveness", run)
        if probes.readiness is None:
            await self._set_ready(True)

    def _start_probe(self, kind: str, run: Run, *, once: bool = False) -> None:
        spec = getattr(self.ctx.spec.probes, kind)
        target = ProbeTarget(
            host=self.ctx.host,
            port=run.port,
            cwd=self.ctx.spec.workdir,
            env=run.env,
        )
        client = self.ctx.http_client

        async def run_check() -> CheckResult:
            return await check(spec, target, http_client=client)

        async def on_verdict(kind: str, passing: bool) -> None:
            await self._on_verdict(kind, passing, run)

        worker = ProbeWorker(
            kind,
            spec,
            run_check,
            clock=self.ctx.clock,
            process_started=run.started_mono,
            on_verdict=on_verdict,
            once=once,
        )
        self._probes[kind] = worker
        self._probe_tasks[kind] = asyncio.create_task(worker.run(), name=f"probe-{kind}")

    async def _on_verdict(self, kind: str, passing: bool, run: Run) -> None:
        if kind == "startup":
            if passing:
                await self._mark_started(run)
            else:
                self._request_kill(
                    Kill(TerminationReason.STARTUP_FAILED, "startup probe failed", probe_kind=kind)
                )
        elif kind == "readiness":
            await self._set_ready(passing)
        elif kind == "liveness" and not passing:
            self._request_kill(
                Kill(TerminationReason.LIVENESS_FAILED, "liveness probe failed", probe_kind=kind)
            )

    def _request_kill(self, kill: Kill) -> None:
        if self._kill is None:
            worker = self._probes.get(kill.probe_kind or "")
            detail = f": {worker.last_message}" if worker else ""
            self._kill = Kill(kill.reason, kill.message + detail, graceful=kill.graceful)
            self._kill_requested.set()

    async def _watch_memory(self, process: ProcessIdentity) -> None:
        limit = self.ctx.spec.memory_limit_bytes
        assert limit is not None
        while True:
            rss = group_rss_bytes(process)
            if rss is not None and rss > limit:
                message = (
                    f"memory {rss / _MIB:.0f} MiB exceeded the limit of {limit / _MIB:.0f} MiB"
                )
                self._request_kill(Kill(TerminationReason.OOM_KILLED, message, graceful=False))
                return
            await self.ctx.clock.asleep(self.ctx.poll_interval)
