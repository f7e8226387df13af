"""One run of a replica: launching it through the shim, stopping it, learning how it ended.

A replica that crashes and restarts has several runs; each has its own shim and process. A run
is also what a restarted runtime adopts: it then knows the identities from the state file and
learns the exit status from the file the shim writes, since it cannot ``wait()`` for a process
that is not its child.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from roost._util.processes import user_umask
from roost.clock import Clock
from roost.runtime.local._shim import DRAIN_SECONDS
from roost.runtime.local.logs import tail_lines
from roost.runtime.local.processes import (
    ProcessIdentity,
    ShimFiles,
    identify,
    is_alive,
    read_json,
    reap,
    signal_group,
    spawn_shim,
    wait_exited,
)
from roost.runtime.specs import RevisionSpec
from roost.runtime.statuses import Termination, TerminationReason

# How long a shim may take to start its replica before the launch counts as failed: a cold
# Python start on a loaded machine is well under a second; this is for a swapping one.
SHIM_START_TIMEOUT = 15.0
_FILE_POLL = 0.01


@dataclass(frozen=True)
class Kill:
    """Why the runtime ends a run (``reason`` None: it ended by itself)."""

    reason: TerminationReason | None
    message: str = ""
    graceful: bool = True
    probe_kind: str | None = None
    """The probe whose last message explains the kill, if a probe asked for it."""


@dataclass
class Run:
    """One process of one replica, with the shim that holds its output."""

    shim: ProcessIdentity | None
    process: ProcessIdentity | None
    port: int
    files: ShimFiles
    started_at: datetime
    started_mono: float
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    adopted: bool = False
    spawn_error: str | None = None
    log_since: datetime | None = None
    """When the shim started the process, by the clock that stamps the log lines."""
    spawn_error_is_final: bool = True
    """False for trouble with the shim itself (worth retrying), True for the replica's own
    (command not found, permission denied)."""

    async def terminate(self, *, graceful: bool, grace_period: float, clock: Clock) -> None:
        """SIGTERM the process group and wait up to ``grace_period``, then SIGKILL it."""
        process = self.process
        if process is None:
            return
        poll = 0.1
        if graceful and grace_period > 0 and signal_group(process, signal.SIGTERM):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace_period):
                    await wait_exited(process, clock=clock, poll=poll)
                return
        if signal_group(process, signal.SIGKILL):
            await wait_exited(process, clock=clock, poll=poll)

    async def exit_info(self, *, clock: Clock) -> dict[str, Any] | None:
        """How the (exited) process ended, as the shim recorded it; None if unknowable.

        The shim writes it after draining the replica's output, which takes up to
        ``DRAIN_SECONDS`` when the replica's children still hold its pipes.
        """
        waited = 0.0
        while True:
            info = read_json(self.files.exit)
            if info is not None or self.shim is None or not is_alive(self.shim):
                return info if info is not None else read_json(self.files.exit)
            if waited > DRAIN_SECONDS + 3.0:
                return None
            await clock.asleep(_FILE_POLL * 5)
            waited += _FILE_POLL * 5

    async def finish(self, kill: Kill, *, clock: Clock, log_file: Path, tail: int) -> Termination:
        """After the process exited: how it ended, with its last ``tail`` log lines; reaps
        the shim when it is our child."""
        info = await self.exit_info(clock=clock)
        if self.shim is not None:
            for _ in range(50):
                if reap(self.shim.pid):
                    break
                await clock.asleep(0.02)
        lines = tail_lines(log_file, tail, since=self.log_since)
        return termination_from(info, kill, clock.now(), lines)


def expand_command(command: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Fill ``$NAME`` / ``${NAME}`` in each word from the replica's environment (``$PORT``
    included). No shell runs, so there is no word splitting or globbing; unknown names are left as
    written and ``$$`` stands for a literal ``$``."""
    return [string.Template(word).safe_substitute(env) for word in command]


def launch(
    spec: RevisionSpec,
    *,
    files: ShimFiles,
    env: Mapping[str, str],
    port: int,
    log_file: Path,
    log_max_bytes: int,
    log_backups: int,
    index: int,
    clock: Clock,
) -> Run:
    """Start a shim that starts the replica; the returned run does not know its process yet
    (see :func:`await_child`)."""
    config = {
        "command": expand_command(spec.command, env),
        "cwd": str(spec.workdir),
        "env": dict(env),
        "log_path": str(log_file),
        "log_max_bytes": log_max_bytes,
        "log_backups": log_backups,
        "log_fields": {"service": spec.service, "revision": spec.revision, "replica": index},
        # roost's own files are private; the replica's are created as the user would.
        "umask": user_umask(),
    }
    shim = spawn_shim(files, config)
    return Run(
        shim=shim,
        process=None,
        port=port,
        files=files,
        started_at=clock.now(),
        started_mono=clock.monotonic(),
        env=env,
    )


async def await_child(run: Run, *, clock: Clock) -> None:
    """Wait until the shim reports the replica's pid (or why it could not start it)."""
    waited = 0.0
    while True:
        # Liveness first, files second: a shim that wrote its files and exited between two
        # reads is then still seen with its files.
        shim_alive = run.shim is not None and is_alive(run.shim)
        child = read_json(run.files.child)
        if child is not None:
            pid = int(child["pid"])
            # Gone already (a replica that exits at once): keep the pid with an impossible start
            # time, so it is "not alive" and can never match a later process with that pid.
            run.process = identify(pid) or ProcessIdentity(pid, 0.0)
            run.log_since = parse_time(child.get("started_at"))
            return
        info = read_json(run.files.exit)
        if info is not None:
            run.spawn_error = str(info.get("error") or "the replica exited before it started")
            return
        if not shim_alive:
            run.spawn_error = "the replica shim exited unexpectedly: " + _shim_log_tail(run.files)
            run.spawn_error_is_final = False
            return
        if waited > SHIM_START_TIMEOUT:
            if run.shim is not None:
                signal_group(run.shim, signal.SIGKILL)
            run.spawn_error = f"the replica shim did not start it within {SHIM_START_TIMEOUT:g}s"
            run.spawn_error_is_final = False
            return
        await clock.asleep(_FILE_POLL)
        waited += _FILE_POLL


def _shim_log_tail(files: ShimFiles) -> str:
    try:
        text = files.shim_log.read_text(errors="replace").strip()
    except FileNotFoundError:
        return "no output"
    return text.splitlines()[-1] if text else "no output"


def termination_from(
    info: dict[str, object] | None, kill: Kill, now: datetime, tail: tuple[str, ...]
) -> Termination:
    """How a run ended, from the shim's exit record ``info`` (None: unknown) and why roost
    ended it (``kill``), with the last lines it printed."""
    exit_code = info.get("exit_code") if info else None
    sig = info.get("signal") if info else None
    if kill.reason is not None:
        reason = kill.reason
    elif info is None:
        reason = TerminationReason.UNKNOWN
    elif exit_code == 0:
        reason = TerminationReason.COMPLETED
    else:
        reason = TerminationReason.ERROR
    message = kill.message
    if info is None and not message:
        message = "exit status unknown (the replica's shim was gone)"
    return Termination(
        reason=reason,
        exit_code=exit_code if isinstance(exit_code, int) else None,
        signal=sig if isinstance(sig, str) else None,
        finished_at=now,
        message=message,
        log_tail=tail,
    )


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time from the state file, or None."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
