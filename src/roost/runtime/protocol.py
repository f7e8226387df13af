"""The runtime contract: run revisions of services as replicas, and say how they are doing.

A revision maps to a Kubernetes Deployment and a replica to a Pod, so a Kubernetes backend can
implement this later; the local backend (``roost.runtime.local``) runs replicas as supervised
processes. Runtimes never talk to the router themselves: whoever hosts one (the agent) wires
:meth:`Runtime.on_endpoints_changed` to the router, so only ready replicas get traffic, and
:meth:`Runtime.on_before_stop` to a drain, so in-flight requests finish before SIGTERM.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Protocol, runtime_checkable

from roost.runtime.specs import RevisionSpec
from roost.runtime.statuses import Endpoint, LogLine, RevisionStatus

EndpointsCallback = Callable[[str, str, list[Endpoint]], Awaitable[None] | None]
"""``callback(service, revision, ready_endpoints)``; may be a plain or an async function."""

BeforeStopHook = Callable[[str, str, list[Endpoint]], Awaitable[None]]
"""``await hook(service, revision, endpoints_about_to_stop)``, before they get SIGTERM."""

Unsubscribe = Callable[[], None]


@runtime_checkable
class Runtime(Protocol):
    """Runs revisions; every method is safe to call while replicas are starting or crashing.

    A problem with one revision (command not found, port taken, a crash loop) shows up in its
    status and never raises out of another revision's calls or stops the runtime.
    """

    async def start(self, spec: RevisionSpec) -> RevisionStatus:
        """Start ``spec.replicas`` replicas and return at once (not waiting for readiness).

        Starting the same spec again is a no-op that returns its status; starting a different
        spec under a running (service, revision) raises ``RevisionConflictError``: a revision is
        immutable, a change is a new revision.
        """
        ...

    async def scale(self, service: str, revision: str, replicas: int) -> RevisionStatus:
        """Add replicas, or stop the highest-numbered ones gracefully (drain hook included)."""
        ...

    async def stop(
        self, service: str, revision: str, *, grace_period: float | None = None
    ) -> RevisionStatus:
        """Stop every replica gracefully and forget the revision (its logs stay); returns its
        last status, with how each replica ended.

        Order per revision: endpoints callback without its replicas, before-stop hooks, SIGTERM,
        then SIGKILL after ``grace_period`` (default: the spec's). Raises
        ``RevisionNotFoundError`` for an unknown revision.
        """
        ...

    def status(self, service: str | None = None) -> list[RevisionStatus]:
        """Every revision (of ``service``), sorted by service then revision."""
        ...

    def logs(
        self,
        service: str,
        revision: str | None = None,
        *,
        since: datetime | None = None,
        follow: bool = False,
    ) -> AsyncIterator[LogLine]:
        """Lines the replicas printed, oldest first; with ``follow``, then new ones as they come."""
        ...

    def on_endpoints_changed(self, callback: EndpointsCallback) -> Unsubscribe:
        """Call ``callback`` whenever the set of ready endpoints of a revision changes."""
        ...

    def on_before_stop(self, hook: BeforeStopHook) -> Unsubscribe:
        """Await ``hook`` before replicas are sent SIGTERM by ``stop`` or ``scale``.

        Its time counts against the grace period, as a Kubernetes preStop hook does.
        """
        ...

    async def adopt(self) -> list[RevisionStatus]:
        """Find revisions that a previous instance of this runtime left running and take them
        over: re-attach to live replicas, restart the ones that are gone."""
        ...

    async def aclose(self) -> None:
        """Stop supervising and release resources, leaving the replicas running for
        :meth:`adopt` (the data plane outlives whoever hosts the runtime)."""
        ...
