"""Supervising one replica: start or adopt it, watch it, restart it with back-off, stop it.

A :class:`ReplicaSupervisor` owns one asyncio task that loops launch → watch → decide. Watching
(``watching.py``) waits for whichever comes first: the process exits, or a probe or the memory
watchdog asks for it to be killed. Everything that can hang (probes, exec probes, the shim
starting) runs in its own task or with a timeout, so the loop always moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from pathlib import Path

from roost.runtime.local.backoff import decide_restart
from roost.runtime.local.layout import replica_environment
from roost.runtime.local.logs import tail_lines
from roost.runtime.local.persisting import ReplicaRecord
from roost.runtime.local.processes import (
    ShimFiles,
    is_alive,
    read_json,
    resolve_command,
)
from roost.runtime.local.running import (
    Kill,
    Run,
    await_child,
    launch,
    parse_time,
    termination_from,
)
from roost.runtime.local.watching import ReplicaContext, RunWatcher
from roost.runtime.statuses import (
    ReplicaState,
    ReplicaStatus,
    Termination,
    TerminationReason,
)

log = logging.getLogger("roost.runtime")


class _LaunchProblem(Exception):
    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry


class ReplicaSupervisor:
    """Keeps replica ``index`` of a revision running, as its spec and probes say."""

    def __init__(self, index: int, ctx: ReplicaContext) -> None:
        self.index = index
        self.ctx = ctx
        self.state = ReplicaState.PENDING
        self.ready = False
        self.port: int | None = None
        self.restarts = 0
        self.crash_streak = 0
        self.message = ""
        self.next_restart_at: datetime | None = None
        self.last_termination: Termination | None = None
        self.run: Run | None = None
        self._watcher: RunWatcher | None = None
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        pid = self.run.process.pid if self.run and self.run.process else None
        return (
            f"ReplicaSupervisor({self.ctx.spec.service}/{self.ctx.spec.revision}#{self.index}, "
            f"{self.state}, ready={self.ready}, pid={pid}, restarts={self.restarts})"
        )

    # -- control ------------------------------------------------------------------------------

    def start(self, record: ReplicaRecord | None = None) -> None:
        """Begin supervising; with ``record``, first try to adopt the process it names.

        Adoption happens before this returns, so the status shows the adopted process at once.
        """
        if record is not None:
            self.run = self._adopt(record)
            if self.run is not None:
                self.state = ReplicaState.STARTING
        name = f"roost-replica-{self.ctx.spec.service}-{self.ctx.spec.revision}-{self.index}"
        self._task = asyncio.create_task(self._supervise(self.run), name=name)

    async def halt(self) -> None:
        """Stop supervising (no more probes or restarts); the process, if any, keeps running."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._watcher is not None:
            await self._watcher.stop_probes()
        # Not published here: the revision publishes once for all replicas it halts.
        self.ready = False

    async def terminate(self, grace_period: float) -> None:
        """After :meth:`halt`: SIGTERM, wait up to ``grace_period``, SIGKILL; record the end."""
        run = self.run
        if run is None:
            self.state = ReplicaState.STOPPED
            self.next_restart_at = None
            return
        self.state = ReplicaState.TERMINATING
        if run.process is None and run.spawn_error is None:
            await await_child(run, clock=self.ctx.clock)
        if run.process is not None:
            await run.terminate(graceful=True, grace_period=grace_period, clock=self.ctx.clock)
        self.last_termination = await run.finish(
            Kill(TerminationReason.STOPPED),
            clock=self.ctx.clock,
            log_file=self._log_file,
            tail=self.ctx.log_tail_lines,
        )
        self._end_run()
        self.state = ReplicaState.STOPPED
        self.message = "stopped"

    def record(self) -> ReplicaRecord:
        """What the state file should say about this replica."""
        run = self.run
        return ReplicaRecord(
            index=self.index,
            port=self.port,
            shim=run.shim if run else None,
            process=run.process if run else None,
            restarts=self.restarts,
            started_at=run.started_at.isoformat() if run else None,
        )

    def status(self) -> ReplicaStatus:
        """A snapshot of this replica."""
        run = self.run
        return ReplicaStatus(
            index=self.index,
            state=self.state,
            ready=self.ready,
            host=self.ctx.host,
            port=self.port,
            pid=run.process.pid if run and run.process else None,
            restarts=self.restarts,
            started_at=run.started_at if run else None,
            message=self.message,
            next_restart_at=self.next_restart_at,
            last_termination=self.last_termination,
            probes=self._watcher.probe_statuses() if self._watcher else (),
            adopted=bool(run and run.adopted),
        )

    # -- the loop -----------------------------------------------------------------------------

    async def _supervise(self, adopted: Run | None) -> None:
        try:
            await self._loop(adopted)
        except Exception as exc:
            # A bug here must show in the status of this replica, not vanish with the task.
            log.exception("supervisor of %s replica %d failed", self.ctx.spec.key, self.index)
            self._fail(f"supervisor error: {type(exc).__name__}: {exc}")

    async def _loop(self, adopted: Run | None) -> None:
        run = adopted
        while True:
            if run is None:
                try:
                    run = await self._launch()
                except _LaunchProblem as problem:
                    if not problem.retry:
                        self._fail(problem.message)
                        return
                    ended = Termination(
                        TerminationReason.ERROR, None, None, self.ctx.clock.now(), problem.message
                    )
                    if not await self._back_off(ended, uptime=0.0):
                        return
                    continue
            termination = await self._watch(run)
            uptime = self.ctx.clock.monotonic() - run.started_mono
            self.last_termination = termination
            self._end_run()
            run = None
            if not await self._back_off(termination, uptime=uptime):
                return

    async def _back_off(self, ended: Termination, *, uptime: float) -> bool:
        """Decide after a run ended; sleep out the delay and return True to restart."""
        spec = self.ctx.spec
        succeeded = ended.reason is TerminationReason.COMPLETED
        decision = decide_restart(
            spec.restart_policy,
            spec.backoff,
            crash_streak=self.crash_streak,
            uptime=uptime,
            succeeded=succeeded,
        )
        self.crash_streak = decision.crash_streak
        self.last_termination = ended
        if not decision.restart:
            self.state = ReplicaState.STOPPED if succeeded else ReplicaState.FAILED
            self.message = f"exited, not restarted ({spec.restart_policy}): {ended.describe()}"
            self.ctx.on_record_changed()
            return False
        self.state = ReplicaState.BACKOFF
        self.next_restart_at = self.ctx.clock.now() + timedelta(seconds=decision.delay)
        self.message = f"back-off {decision.delay:g}s restarting: {ended.describe()}"
        self.ctx.on_record_changed()
        await self.ctx.clock.asleep(decision.delay)
        self.next_restart_at = None
        self.restarts += 1
        return True

    def _fail(self, message: str) -> None:
        self.state = ReplicaState.FAILED
        self.message = message
        self.ctx.on_record_changed()

    def _end_run(self) -> None:
        self.run = None
        self.ctx.on_record_changed()

    def _adopt(self, record: ReplicaRecord) -> Run | None:
        self.restarts = record.restarts
        self.port = record.port
        if record.port is not None:
            self.ctx.ports.claim(record.port)
        files = ShimFiles(self.ctx.paths.run_dir(self.index))
        child = read_json(files.child) or {}
        log_since = parse_time(child.get("started_at"))
        if record.process is not None and record.port is not None and is_alive(record.process):
            started = parse_time(record.started_at) or self.ctx.clock.now()
            age = max(0.0, (self.ctx.clock.now() - started).total_seconds())
            self.message = "adopted a running process"
            env = replica_environment(
                self.ctx.spec,
                self.ctx.paths,
                index=self.index,
                port=record.port,
                base=self.ctx.base_env,
            )
            return Run(
                shim=record.shim if record.shim and is_alive(record.shim) else None,
                process=record.process,
                port=record.port,
                files=files,
                started_at=started,
                started_mono=self.ctx.clock.monotonic() - age,
                env=env,
                adopted=True,
                log_since=log_since,
            )
        # It ended while nobody watched; the shim may have recorded how.
        info = read_json(files.exit)
        if info is not None and "error" not in info:
            self.last_termination = termination_from(
                info,
                Kill(None),
                self.ctx.clock.now(),
                tail_lines(self._log_file, self.ctx.log_tail_lines, since=log_since),
            )
        if record.process is not None:
            self.restarts += 1
        return None

    async def _launch(self) -> Run:
        spec, ctx = self.ctx.spec, self.ctx
        env = replica_environment(spec, ctx.paths, index=self.index, port=0, base=ctx.base_env)
        problem = resolve_command(spec.command[0], cwd=spec.workdir, path=env.get("PATH"))
        if problem is not None:
            raise _LaunchProblem(problem, retry=False)
        try:
            self.port = ctx.ports.assign(previous=self.port, fixed=spec.port)
        except OSError as exc:
            raise _LaunchProblem(str(exc), retry=True) from None
        env = replica_environment(
            spec, ctx.paths, index=self.index, port=self.port, base=ctx.base_env
        )
        self.state = ReplicaState.STARTING
        self.message = "starting"
        run = launch(
            spec,
            files=ShimFiles(ctx.paths.run_dir(self.index)),
            env=env,
            port=self.port,
            log_file=self._log_file,
            log_max_bytes=ctx.log_max_bytes,
            log_backups=ctx.log_backups,
            index=self.index,
            clock=ctx.clock,
        )
        # Visible before the child is known, so a stop arriving now still finds the shim.
        self.run = run
        await await_child(run, clock=ctx.clock)
        if run.spawn_error is not None:
            self.run = None
            raise _LaunchProblem(run.spawn_error, retry=not run.spawn_error_is_final)
        ctx.on_record_changed()
        return run

    @property
    def _log_file(self) -> Path:
        return self.ctx.paths.log_file(self.index)

    # -- watching one run ---------------------------------------------------------------------

    async def _watch(self, run: Run) -> Termination:
        watcher = RunWatcher(
            run,
            self.ctx,
            log_file=self._log_file,
            set_state=self._set_state,
            set_ready=self._set_ready,
        )
        self._watcher = watcher
        return await watcher.watch()

    def _set_state(self, state: ReplicaState, message: str) -> None:
        self.state = state
        self.message = message

    async def _set_ready(self, ready: bool) -> None:
        if ready != self.ready:
            self.ready = ready
            await self.ctx.on_ready_changed()
