"""``LocalRuntime``: revisions as supervised processes on this machine.

Each replica is a child process started through a small shim (see ``_shim.py``) in its own
session and process group, with ``$PORT`` and the revision's environment, config files and
secrets. The runtime probes and restarts replicas, captures their output as JSON Lines, and
keeps a state file per revision so that a new runtime (a restarted agent) can :meth:`adopt` the
replicas the old one left running: killing whoever hosts the runtime does not stop workloads.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import httpx

from roost.clock import Clock, RealClock
from roost.runtime.errors import RevisionConflictError, RevisionNotFoundError
from roost.runtime.local.deploying import Deployment
from roost.runtime.local.layout import (
    RevisionPaths,
    remove_revision_files,
    write_identity_token,
    write_revision_files,
)
from roost.runtime.local.logs import read_logs
from roost.runtime.local.persisting import find_state_files, load_state
from roost.runtime.local.ports import PortBook
from roost.runtime.local.probing import new_http_client
from roost.runtime.local.sealing import Sealer, default_key_file, private_runtime_dir
from roost.runtime.local.watching import ReplicaContext
from roost.runtime.protocol import BeforeStopHook, EndpointsCallback, Runtime, Unsubscribe
from roost.runtime.specs import RevisionSpec
from roost.runtime.statuses import Endpoint, LogLine, RevisionStatus

log = logging.getLogger("roost.runtime")

MIB = 1024 * 1024
T = TypeVar("T")


class LocalRuntime:
    """The embedded runtime backend (see :class:`roost.runtime.protocol.Runtime`).

    ``state_dir`` holds per-revision state and config files; logs go to ``log_dir``
    (default ``state_dir/logs``) as ``SERVICE/REVISION/replica-N.jsonl``, rotated at
    ``log_max_bytes`` keeping ``log_backups`` old files. ``env`` is the environment replicas
    start from (default: this process's). ``poll_interval`` is how often memory is sampled and,
    where pidfds are unavailable, how often exits are polled. ``log_tail_lines`` lines of output
    are kept with each termination for status. Secret values are sealed in the state files with
    the key in ``key_file`` and delivered as files from ``runtime_dir`` (defaults outside the
    project: see :mod:`roost.runtime.local.sealing`).
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        log_dir: Path | None = None,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        env: Mapping[str, str] | None = None,
        poll_interval: float = 0.25,
        log_max_bytes: int = 10 * MIB,
        log_backups: int = 5,
        log_tail_lines: int = 20,
        key_file: Path | None = None,
        runtime_dir: Path | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.sealer = Sealer(key_file or default_key_file(self.state_dir))
        self._runtime_dir = runtime_dir
        self.log_dir = Path(log_dir) if log_dir is not None else self.state_dir / "logs"
        self.clock: Clock = clock or RealClock()
        self.host = host
        self._base_env = dict(os.environ if env is None else env)
        self._poll_interval = poll_interval
        self._log_max_bytes = log_max_bytes
        self._log_backups = log_backups
        self._log_tail_lines = log_tail_lines
        self._ports = PortBook(host)
        # Made on first use, so a runtime that is never started holds no resources.
        self._http: httpx.AsyncClient | None = None
        self._deployments: dict[tuple[str, str], Deployment] = {}
        self._endpoint_callbacks: list[EndpointsCallback] = []
        self._before_stop_hooks: list[BeforeStopHook] = []
        self._lock = asyncio.Lock()
        self.adoption_problems: list[str] = []
        """State files :meth:`adopt` could not use, one line each."""

    # -- the Runtime protocol -----------------------------------------------------------------

    async def start(self, spec: RevisionSpec) -> RevisionStatus:
        """Start ``spec.replicas`` replicas of a revision (see ``Runtime.start``)."""
        async with self._lock:
            paths = self._paths(spec.service, spec.revision)
            if spec.key not in self._deployments and paths.state_file.exists():
                # Left by a previous runtime that nobody adopted yet: take it over rather than
                # start a second set of processes next to it.
                await self._adopt_file(paths.state_file)
            existing = self._deployments.get(spec.key)
            if existing is not None:
                if existing.spec != spec:
                    raise RevisionConflictError(spec.service, spec.revision)
                return existing.status()
            write_revision_files(spec, paths)
            deployment = self._new_deployment(spec, paths)
            self._deployments[spec.key] = deployment
            deployment.start()
            return deployment.status()

    async def scale(self, service: str, revision: str, replicas: int) -> RevisionStatus:
        """Run exactly ``replicas`` replicas of a running revision."""
        if replicas < 0:
            raise ValueError(f"replicas must be 0 or more, got {replicas}")
        deployment = self._get(service, revision)
        await deployment.scale(replicas)
        return deployment.status()

    async def stop(
        self, service: str, revision: str, *, grace_period: float | None = None
    ) -> RevisionStatus:
        """Stop a revision gracefully and forget it; its last status (see ``Runtime.stop``)."""
        deployment = self._get(service, revision)
        grace = deployment.spec.grace_period if grace_period is None else grace_period
        await deployment.stop(grace)
        self._deployments.pop((service, revision), None)
        remove_revision_files(deployment.paths)
        async with self._lock:
            if not self._deployments and not find_state_files(self.state_dir):
                # Nothing sealed is left to open: the key goes too (a new one comes with the
                # next revision), so no key outlives the project's last revision.
                self.sealer.forget()
        return deployment.status()

    def write_identity(self, service: str, revision: str, token: str) -> None:
        """Replace the workload token of a running revision (the file its replicas find in
        ``$ROOST_IDENTITY_TOKEN_FILE``), atomically; unknown revision: RevisionNotFoundError."""
        deployment = self._get(service, revision)
        write_identity_token(deployment.paths, token)

    def status(self, service: str | None = None) -> list[RevisionStatus]:
        """Every revision (of ``service``), sorted by service then revision."""
        return [
            deployment.status()
            for key, deployment in sorted(self._deployments.items())
            if service is None or key[0] == service
        ]

    def endpoints(self, service: str, revision: str) -> list[Endpoint]:
        """The ready endpoints of a revision right now."""
        return self._get(service, revision).ready_endpoints()

    def logs(
        self,
        service: str,
        revision: str | None = None,
        *,
        since: datetime | None = None,
        follow: bool = False,
    ) -> AsyncIterator[LogLine]:
        """What the replicas printed, oldest first; ``follow`` keeps going until you stop."""
        return read_logs(
            self.log_dir, service, revision, since=since, follow=follow, clock=self.clock
        )

    def on_endpoints_changed(self, callback: EndpointsCallback) -> Unsubscribe:
        """Call ``callback(service, revision, ready_endpoints)`` on every change."""
        self._endpoint_callbacks.append(callback)
        return lambda: _remove(self._endpoint_callbacks, callback)

    def on_before_stop(self, hook: BeforeStopHook) -> Unsubscribe:
        """Await ``hook(service, revision, endpoints)`` before replicas get SIGTERM."""
        self._before_stop_hooks.append(hook)
        return lambda: _remove(self._before_stop_hooks, hook)

    async def adopt(self) -> list[RevisionStatus]:
        """Take over the revisions recorded in the state directory (see ``Runtime.adopt``).

        Unusable state files are skipped and described in :attr:`adoption_problems`.
        """
        adopted: list[RevisionStatus] = []
        async with self._lock:
            for path in find_state_files(self.state_dir):
                deployment = await self._adopt_file(path)
                if deployment is not None:
                    adopted.append(deployment.status())
        return adopted

    async def aclose(self) -> None:
        """Stop supervising, leave every replica running and recorded for :meth:`adopt`."""
        for deployment in list(self._deployments.values()):
            await deployment.detach()
        self._deployments.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- internals ----------------------------------------------------------------------------

    async def _adopt_file(self, path: Path) -> Deployment | None:
        try:
            state = load_state(path, sealer=self.sealer)
        except ValueError as exc:
            self.adoption_problems.append(str(exc))
            log.warning("%s", exc)
            return None
        spec = state.spec
        if spec.key in self._deployments:
            return None
        paths = self._paths(spec.service, spec.revision)
        write_revision_files(spec, paths)
        deployment = self._new_deployment(spec, paths)
        self._deployments[spec.key] = deployment
        deployment.start(state.replicas, desired=state.desired_replicas)
        if len(deployment.replicas) > state.desired_replicas:
            await deployment.scale(state.desired_replicas)
        return deployment

    def _new_deployment(self, spec: RevisionSpec, paths: RevisionPaths) -> Deployment:
        if self._http is None:
            self._http = new_http_client()
        http = self._http

        def make_context(deployment: Deployment) -> ReplicaContext:
            return ReplicaContext(
                spec=spec,
                paths=paths,
                host=self.host,
                clock=self.clock,
                http_client=http,
                ports=self._ports,
                base_env=self._base_env,
                poll_interval=self._poll_interval,
                log_max_bytes=self._log_max_bytes,
                log_backups=self._log_backups,
                log_tail_lines=self._log_tail_lines,
                on_ready_changed=deployment.publish,
                on_record_changed=deployment.persist,
            )

        return Deployment(
            spec,
            paths=paths,
            make_context=make_context,
            notify_endpoints=self._notify_endpoints,
            before_stop=self._run_before_stop,
            sealer=self.sealer,
        )

    async def _notify_endpoints(self, service: str, revision: str, ready: list[Endpoint]) -> None:
        for callback in list(self._endpoint_callbacks):
            try:
                result = callback(service, revision, list(ready))
                if inspect.isawaitable(result):
                    await result
            except Exception:
                # A subscriber's bug must not stop supervision or other subscribers.
                log.exception("endpoints callback %r failed", callback)

    async def _run_before_stop(self, service: str, revision: str, stopping: list[Endpoint]) -> None:
        for hook in list(self._before_stop_hooks):
            try:
                await hook(service, revision, list(stopping))
            except Exception:
                log.exception("before-stop hook %r failed; stopping anyway", hook)

    def _get(self, service: str, revision: str) -> Deployment:
        deployment = self._deployments.get((service, revision))
        if deployment is None:
            raise RevisionNotFoundError(service, revision)
        return deployment

    def _paths(self, service: str, revision: str) -> RevisionPaths:
        if self._runtime_dir is None:
            # Found (and checked) on first use, not in __init__: a runtime that never starts a
            # revision touches nothing.
            self._runtime_dir = private_runtime_dir(self.state_dir)
        return RevisionPaths.of(self.state_dir, self.log_dir, self._runtime_dir, service, revision)

    def __repr__(self) -> str:
        return f"LocalRuntime({str(self.state_dir)!r}, revisions={len(self._deployments)})"


def _remove(items: list[T], item: T) -> None:
    if item in items:
        items.remove(item)


if TYPE_CHECKING:
    # mypy checks here that LocalRuntime implements every method of the protocol exactly.
    def _implements_the_protocol(runtime: LocalRuntime) -> Runtime:
        return runtime
