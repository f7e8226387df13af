"""Delivering workload tokens: the leader signs one for every running revision and hands it to
the agent, which writes it (atomically, 0600) into the file the revision's replicas find in
``$ROOST_IDENTITY_TOKEN_FILE``; each token is replaced at 2/3 of its 15-minute lifetime.

The decisions are :mod:`roost.identity`'s (which workloads are due, what a token says); this
module gathers the inputs (what the agent runs, each service's audience in roost.yaml) and
applies the answer. It is one of the leader's periodic duties
(:class:`~roost.control.leadership.duties.LeaderDuties` ticks it only while this process leads):
a follower signs nothing, and a new tenure, which knows no token an earlier one issued, hands
every revision a fresh one at once — a few seconds in which two valid tokens exist is
harmless, a gap is not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from roost.control.dataplane.agents import AgentRefused, AgentUnavailable
from roost.control.dataplane.protocol import AgentApi
from roost.control.fencing import Leader
from roost.control.workspace import Workspace
from roost.identity import IssuedToken, KeyStore, KeyStoreError, Workload, default_audience, due
from roost.identity import issue as issue_token
from roost.store import Fence

log = logging.getLogger("roost.control.identities")

CHECK_EVERY = 2.0
"""Seconds between looks at what the agent runs: a new revision waits about this long for its
first token (tokens are re-signed only when due, so a look costs one state call)."""


class IdentityDelivery:
    """Keeps every running revision supplied with a valid workload token (see the module doc).

    ``issuer`` is the control plane's issuer URL (the ``iss`` of every token, and of the
    discovery document the API serves); ``connect`` reaches the agent."""

    def __init__(
        self,
        ws: Workspace,
        *,
        keys: KeyStore,
        issuer: str,
        connect: Callable[[], AgentApi],
        leader: Leader | None = None,
        interval: float = CHECK_EVERY,
    ) -> None:
        self.ws = ws
        self.keys = keys
        self.issuer = issuer.rstrip("/")
        self._connect = connect
        self._leader = leader
        self._interval = interval
        self.issued: dict[Workload, IssuedToken] = {}
        self._lock = threading.Lock()
        self._last_look: float | None = None

    # -- the periodic duty (LeaderDuties calls these while this process leads) -----------------

    def take_office(self, fence: Fence) -> None:
        """A new tenure: every running revision gets a token at the next tick."""
        with self._lock:
            self.issued.clear()  # what an earlier tenure delivered may have been replaced since
            self._last_look = None

    def tick(self, fence: Fence) -> None:
        """Look at what the agent runs every ``interval`` seconds; deliver what is due."""
        now = self.ws.clock.monotonic()
        with self._lock:
            if self._last_look is not None and now - self._last_look < self._interval:
                return
            self._last_look = now
        self.deliver_once()

    # -- one look --------------------------------------------------------------------------------

    def deliver_once(self) -> list[IssuedToken]:
        """Sign and deliver the tokens due now; returns what was delivered."""
        if self._leader is not None and not self._leader.leading:
            return []
        try:
            agent = self._connect()
        except AgentUnavailable:
            return []
        try:
            return self._deliver(agent)
        finally:
            agent.close()

    def _deliver(self, agent: AgentApi) -> list[IssuedToken]:
        try:
            wanted = self._wanted(agent.state())
        except (AgentUnavailable, AgentRefused) as exc:
            log.debug("no workload tokens delivered: %s", exc)
            return []
        now = self.ws.clock.now()
        with self._lock:
            for gone in set(self.issued) - set(wanted):
                del self.issued[gone]
            todo = due(wanted, self.issued, now=now)
        if not todo:
            return []
        try:
            key = self.keys.signing_key()
        except KeyStoreError as exc:
            log.error("no workload tokens signed: %s (%s)", exc, exc.hint)
            return []
        delivered = []
        for workload in todo:
            token = issue_token(
                key, issuer=self.issuer, workload=workload, audience=wanted[workload], now=now
            )
            try:
                agent.in_environment(workload.environment).put_identity(
                    workload.service, workload.revision, token.token
                )
            except (AgentUnavailable, AgentRefused) as exc:
                # Stopped meanwhile (404) or the agent restarting: the next look decides again.
                log.info("workload token for %s not delivered: %s", workload.subject, exc)
                continue
            with self._lock:
                self.issued[workload] = token
            delivered.append(token)
        return delivered

    def _wanted(self, state: Mapping[str, Any]) -> dict[Workload, tuple[str, ...]]:
        """Every revision the agent runs, with the audience its service's token is for."""
        project = self.ws.project
        audiences = {
            service.name: tuple(service.identity.audience)
            if service.identity is not None
            else (default_audience(project.project),)
            for service in project.services
        }
        wanted: dict[Workload, tuple[str, ...]] = {}
        environments = state.get("environments")
        if not isinstance(environments, Mapping):
            return wanted
        for environment, scope in environments.items():
            services = scope.get("services") if isinstance(scope, Mapping) else None
            for name, service in (services or {}).items():
                if name not in audiences:
                    continue  # no longer in roost.yaml: it gets no new identity
                for revision in service.get("revisions") or []:
                    workload = Workload(
                        project.project, str(environment), str(name), str(revision["revision"])
                    )
                    wanted[workload] = audiences[name]
        return wanted

    def __repr__(self) -> str:
        return f"IdentityDelivery(issuer={self.issuer!r}, tokens={len(self.issued)})"
