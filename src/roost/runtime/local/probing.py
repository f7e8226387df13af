"""Probing replicas: one HTTP, TCP or exec check, and the loop that turns checks into verdicts.

Every check is bounded by its timeout — a hanging check is a failed check, an exec probe that
hangs is killed with its process group — and every probe loop runs in its own task, so nothing a
replica does can stall its supervisor. Verdicts follow Kubernetes: ``success_threshold``
consecutive successes to pass, ``failure_threshold`` consecutive failures to fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from roost.clock import Clock
from roost.runtime.specs import ExecProbe, HttpProbe, ProbeSpec, TcpProbe
from roost.runtime.statuses import ProbeStatus

# Extra time for the outer guard over a check that enforces its own timeout (killing an exec
# probe's process group and reaping it takes a moment).
_GUARD_SLACK = 2.0
_OUTPUT_CHARS = 200


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check."""

    ok: bool
    message: str


@dataclass(frozen=True)
class ProbeTarget:
    """What a check needs to know about the replica it checks."""

    host: str
    port: int
    cwd: Path
    env: Mapping[str, str]


def new_http_client() -> httpx.AsyncClient:
    """The client HTTP probes share: no keep-alive (every probe opens a fresh connection, as
    kubelet's do, so a stuck listener is noticed), no proxies from the environment, and no TLS
    verification for https probes (the Kubernetes rule: probes check liveness, not identity)."""
    return httpx.AsyncClient(
        limits=httpx.Limits(max_keepalive_connections=0),
        trust_env=False,
        verify=False,  # noqa: S501 - see the docstring
        follow_redirects=False,
    )


async def check(
    probe: ProbeSpec, target: ProbeTarget, *, http_client: httpx.AsyncClient
) -> CheckResult:
    """Run one check of ``probe`` against ``target``; never raises, never outlives its timeout
    by more than the time it takes to kill an exec probe."""
    try:
        if probe.http is not None:
            coro = _check_http(probe.http, probe.timeout, target, http_client)
        elif probe.tcp is not None:
            coro = _check_tcp(probe.tcp, probe.timeout, target)
        else:
            assert probe.exec is not None
            coro = _check_exec(probe.exec, probe.timeout, target)
        # asyncio.timeout, never wait_for: on 3.11 wait_for can swallow a cancellation that
        # arrives as the check finishes, leaving a probe task that cannot be stopped.
        async with asyncio.timeout(probe.timeout + _GUARD_SLACK):
            return await coro
    except TimeoutError:
        return CheckResult(False, f"timed out after {probe.timeout:g}s")
    except Exception as exc:  # a probe must never take its supervisor down
        return CheckResult(False, f"probe error: {type(exc).__name__}: {exc}")


async def _check_http(
    spec: HttpProbe, timeout: float, target: ProbeTarget, client: httpx.AsyncClient
) -> CheckResult:
    port = spec.port or target.port
    url = f"{spec.scheme}://{target.host}:{port}{spec.path}"
    try:
        response = await client.get(url, headers=dict(spec.headers), timeout=timeout)
    except httpx.TimeoutException:
        return CheckResult(False, f"GET {url}: timed out after {timeout:g}s")
    except httpx.HTTPError as exc:
        return CheckResult(False, f"GET {url}: {_reason(exc)}")
    low, high = spec.expect_status
    ok = low <= response.status_code <= high
    return CheckResult(ok, f"GET {url}: {response.status_code}")


def _reason(exc: BaseException) -> str:
    # httpx wraps the OS error; the innermost one is what a person recognises.
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__


async def _check_tcp(spec: TcpProbe, timeout: float, target: ProbeTarget) -> CheckResult:
    port = spec.port or target.port
    where = f"tcp {target.host}:{port}"
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(target.host, port)
    except TimeoutError:
        return CheckResult(False, f"{where}: timed out after {timeout:g}s")
    except OSError as exc:
        return CheckResult(False, f"{where}: {exc.strerror or exc}")
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return CheckResult(True, f"{where}: connected")


async def _check_exec(spec: ExecProbe, timeout: float, target: ProbeTarget) -> CheckResult:
    shown = " ".join(spec.command)
    try:
        proc = await asyncio.create_subprocess_exec(
            *spec.command,
            cwd=target.cwd,
            env=dict(target.env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # Its own group, so a probe that started children is killed whole on timeout.
            start_new_session=True,
        )
    except FileNotFoundError:
        return CheckResult(False, f"exec {shown}: command not found: {spec.command[0]}")
    except OSError as exc:
        return CheckResult(False, f"exec {shown}: {exc.strerror or exc}")
    try:
        async with asyncio.timeout(timeout):
            output, _ = await proc.communicate()
    except TimeoutError:
        return CheckResult(False, f"exec {shown}: timed out after {timeout:g}s")
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            # Shielded: even if our caller gives up now, the probe process is reaped and its
            # pipe closed, instead of leaking a zombie and an unclosed transport.
            await asyncio.shield(proc.communicate())
    text = output.decode(errors="replace").strip()[-_OUTPUT_CHARS:]
    suffix = f": {text}" if text else ""
    if proc.returncode == 0:
        return CheckResult(True, f"exec {shown}: exit 0{suffix}")
    return CheckResult(False, f"exec {shown}: exit {proc.returncode}{suffix}")


VerdictCallback = Callable[[str, bool], Awaitable[None]]
"""``await on_verdict(kind, passing)`` when a probe starts passing or failing."""


class ProbeWorker:
    """Runs one probe of one replica in a loop and reports when its verdict changes.

    With ``once`` (startup probes) it stops probing after it first passes.

    ``initial_delay`` counts from ``process_started`` (a ``clock.monotonic()`` value), so a
    replica adopted long after it started is probed at once.
    """

    def __init__(
        self,
        kind: str,
        spec: ProbeSpec,
        run_check: Callable[[], Awaitable[CheckResult]],
        *,
        clock: Clock,
        process_started: float,
        on_verdict: VerdictCallback,
        once: bool = False,
    ) -> None:
        self.kind = kind
        self.once = once
        self.spec = spec
        self._run_check = run_check
        self._clock = clock
        self._process_started = process_started
        self._on_verdict = on_verdict
        self.passing: bool | None = None
        self.successes = 0
        self.failures = 0
        self.last_message = "not probed yet"
        self.last_checked_at: datetime | None = None

    async def run(self) -> None:
        """Probe until cancelled."""
        waited = self._clock.monotonic() - self._process_started
        await self._clock.asleep(max(0.0, self.spec.initial_delay - waited))
        while True:
            result = await self._run_check()
            await self.record(result)
            if self.once and self.passing:
                return
            await self._clock.asleep(self.spec.period)

    async def record(self, result: CheckResult) -> None:
        """Count one check result and report a change of verdict."""
        self.last_message = result.message
        self.last_checked_at = self._clock.now()
        if result.ok:
            self.successes += 1
            self.failures = 0
            if self.passing is not True and self.successes >= self.spec.success_threshold:
                self.passing = True
                await self._on_verdict(self.kind, True)
        else:
            self.failures += 1
            self.successes = 0
            if self.passing is not False and self.failures >= self.spec.failure_threshold:
                self.passing = False
                await self._on_verdict(self.kind, False)

    def status(self) -> ProbeStatus:
        """A snapshot for ``ReplicaStatus.probes``."""
        return ProbeStatus(
            kind=self.kind,
            passing=self.passing,
            consecutive_successes=self.successes,
            consecutive_failures=self.failures,
            last_message=self.last_message,
            last_checked_at=self.last_checked_at,
        )

    def __repr__(self) -> str:
        return f"ProbeWorker({self.kind} {self.spec.kind}, passing={self.passing})"
