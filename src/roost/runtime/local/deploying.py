"""A revision's set of replicas (the local counterpart of a Kubernetes Deployment).

It scales the set, stops replicas in the order that loses no request (out of the router, drain
hooks, SIGTERM, SIGKILL), tells subscribers when its ready endpoints change, and keeps the state
file in step so a restarted runtime can adopt the replicas.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from roost.runtime.local.layout import RevisionPaths
from roost.runtime.local.persisting import ReplicaRecord, RevisionState, save_state
from roost.runtime.local.sealing import Sealer
from roost.runtime.local.supervising import ReplicaSupervisor
from roost.runtime.local.watching import ReplicaContext
from roost.runtime.specs import RevisionSpec
from roost.runtime.statuses import Endpoint, RevisionStatus

log = logging.getLogger("roost.runtime")

Notify = Callable[[str, str, list[Endpoint]], Awaitable[None]]

# Kubernetes gives a process 2 s after SIGTERM even when the preStop hook used up the grace
# period; without it a slow drain would turn every stop into a SIGKILL.
_MIN_TERM_GRACE = 2.0


class Deployment:
    """Replicas ``0 … desired-1`` of one revision, each under a :class:`ReplicaSupervisor`."""

    def __init__(
        self,
        spec: RevisionSpec,
        *,
        paths: RevisionPaths,
        make_context: Callable[[Deployment], ReplicaContext],
        notify_endpoints: Notify,
        before_stop: Notify,
        sealer: Sealer,
    ) -> None:
        self.spec = spec
        self.paths = paths
        self._sealer = sealer
        self.desired = spec.replicas
        self.replicas: dict[int, ReplicaSupervisor] = {}
        self._ctx = make_context(self)
        self._notify_endpoints = notify_endpoints
        self._before_stop = before_stop
        self._published: list[Endpoint] = []
        self._publish_lock = asyncio.Lock()
        self._forgotten = False

    # -- lifecycle ----------------------------------------------------------------------------

    def start(
        self, records: dict[int, ReplicaRecord] | None = None, *, desired: int | None = None
    ) -> None:
        """Start supervising; replicas with a ``record`` are adopted if their process lives.

        Records beyond ``desired`` (a scale-down the previous runtime did not finish) are
        adopted too, so :meth:`scale` can stop them properly.
        """
        records = records or {}
        if desired is not None:
            self.desired = desired
        indexes = set(range(self.desired)) | set(records)
        for index in sorted(indexes):
            self._add(index, records.get(index))
        self.persist()

    async def scale(self, replicas: int) -> None:
        """Run exactly ``replicas`` replicas: add the missing indexes, stop the highest ones."""
        self.desired = replicas
        for index in range(replicas):
            if index not in self.replicas:
                self._add(index, None)
        surplus = [sup for index, sup in self.replicas.items() if index >= replicas]
        self.persist()
        if surplus:
            await self._stop_replicas(surplus, grace_period=self.spec.grace_period)
            for sup in surplus:
                del self.replicas[sup.index]
                self._ctx.ports.release(sup.port)
            self.persist()

    async def stop(self, grace_period: float) -> None:
        """Stop every replica and forget the revision's state (its logs stay)."""
        await self._stop_replicas(list(self.replicas.values()), grace_period=grace_period)
        for sup in self.replicas.values():
            self._ctx.ports.release(sup.port)
        self._forgotten = True

    async def detach(self) -> None:
        """Stop supervising and leave the processes running, recorded for adoption."""
        for sup in self.replicas.values():
            await sup.halt()
        self.persist()
        self._forgotten = True

    def _add(self, index: int, record: ReplicaRecord | None) -> None:
        sup = ReplicaSupervisor(index, self._ctx)
        self.replicas[index] = sup
        sup.start(record)

    async def _stop_replicas(self, sups: list[ReplicaSupervisor], *, grace_period: float) -> None:
        clock = self._ctx.clock
        began = clock.monotonic()
        await asyncio.gather(*(sup.halt() for sup in sups))
        # Out of the router first, so no new request reaches a replica about to stop.
        await self.publish()
        stopping = [
            (self._ctx.host, sup.port)
            for sup in sups
            if sup.port is not None and sup.run is not None and sup.run.process is not None
        ]
        if stopping:
            await self._run_before_stop(stopping, budget=grace_period)
        spent = clock.monotonic() - began
        remaining = max(grace_period - spent, min(_MIN_TERM_GRACE, grace_period))
        await asyncio.gather(*(sup.terminate(remaining) for sup in sups))

    async def _run_before_stop(self, endpoints: list[Endpoint], *, budget: float) -> None:
        spec = self.spec
        try:
            async with asyncio.timeout(budget or None):
                await self._before_stop(spec.service, spec.revision, endpoints)
        except TimeoutError:
            log.warning(
                "before-stop hooks of %s/%s took longer than the grace period (%gs); stopping",
                spec.service,
                spec.revision,
                budget,
            )

    # -- what others see ----------------------------------------------------------------------

    def ready_endpoints(self) -> list[Endpoint]:
        """The ready replicas' endpoints, in replica order."""
        return [
            (self._ctx.host, sup.port)
            for _, sup in sorted(self.replicas.items())
            if sup.ready and sup.port is not None
        ]

    async def publish(self) -> None:
        """Tell subscribers the ready endpoints if they changed since last time.

        Serialised by a lock so subscribers see changes in the order they happened.
        """
        async with self._publish_lock:
            endpoints = self.ready_endpoints()
            if endpoints == self._published:
                return
            self._published = endpoints
            await self._notify_endpoints(self.spec.service, self.spec.revision, list(endpoints))

    def persist(self) -> None:
        """Write the state file (not any more once the revision is stopped or detached)."""
        if self._forgotten:
            return
        records = {index: sup.record() for index, sup in self.replicas.items()}
        state = RevisionState(spec=self.spec, desired_replicas=self.desired, replicas=records)
        try:
            save_state(self.paths.state_file, state, sealer=self._sealer)
        except OSError as exc:
            # A full disk must not stop supervision; adoption after a restart is what suffers.
            log.error("cannot write %s: %s", self.paths.state_file, exc)

    def status(self) -> RevisionStatus:
        """A snapshot of the revision and its replicas."""
        return RevisionStatus(
            service=self.spec.service,
            revision=self.spec.revision,
            desired_replicas=self.desired,
            replicas=tuple(sup.status() for _, sup in sorted(self.replicas.items())),
        )

    def __repr__(self) -> str:
        return f"Deployment({self.spec.service}/{self.spec.revision}, desired={self.desired})"
