"""The embedded router: the routing state the built-in proxy reads on every request."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Mapping

from roost.traffic.errors import InvalidRoute, StaleFencingToken
from roost.traffic.routes import Endpoint, RevisionRoute, ServiceRoutes

_Key = tuple[str, str]


class EmbeddedRouter:
    """Routing tables for the services of one agent, with fencing and in-flight tracking.

    Updates build a new immutable :class:`ServiceRoutes` and swap it in with one assignment,
    on the event loop's thread and without awaiting in between, so a proxy reading
    :meth:`current` never sees a half-applied change.
    """

    def __init__(self) -> None:
        self._routes: dict[str, ServiceRoutes] = {}
        self._endpoints: dict[str, dict[str, tuple[Endpoint, ...]]] = {}
        self._weights: dict[str, dict[str, int]] = {}
        self._tokens: dict[str, int] = {}
        self._versions = itertools.count(1)
        self._round_robin: dict[_Key, itertools.count[int]] = {}
        self._inflight: dict[_Key, dict[Endpoint, int]] = {}
        self._idle_waiters: dict[_Key, list[tuple[Endpoint | None, asyncio.Future[None]]]] = {}

    # -- the Router protocol -------------------------------------------------------------

    async def set_endpoints(
        self, service: str, revision: str, endpoints: Iterable[Endpoint]
    ) -> ServiceRoutes:
        """Replace the ready endpoints of ``revision`` (duplicates are dropped)."""
        _check_name("service", service)
        _check_name("revision", revision)
        ready = tuple(dict.fromkeys(endpoints))
        for endpoint in ready:
            if not isinstance(endpoint, Endpoint):
                raise InvalidRoute(f"not an Endpoint: {endpoint!r} (use Endpoint.parse)")
        self._endpoints.setdefault(service, {})[revision] = ready
        return self._rebuild(service)

    async def set_weights(
        self, service: str, weights: Mapping[str, int], *, fencing_token: int | None = None
    ) -> ServiceRoutes:
        """Replace the weight map atomically; see :meth:`Router.set_weights`.

        An update without a token is refused once the service has accepted a token: a fenced
        writer exists, and an unfenced one could be anybody.
        """
        _check_name("service", service)
        for name, weight in weights.items():
            _check_name("revision", name)
            if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
                raise InvalidRoute(
                    f"weight of revision {name!r} must be a whole number ≥ 0, got {weight!r}"
                )
        highest = self._tokens.get(service)
        if highest is not None and (fencing_token is None or fencing_token < highest):
            raise StaleFencingToken(service, fencing_token, highest)
        if fencing_token is not None:
            self._tokens[service] = fencing_token
        self._weights[service] = dict(weights)
        return self._rebuild(service)

    async def routes(self, service: str) -> ServiceRoutes:
        """The current table of ``service``."""
        return self.current(service)

    async def table(self) -> Mapping[str, ServiceRoutes]:
        """Every service's current table."""
        return dict(self._routes)

    async def drain(
        self,
        service: str,
        revision: str,
        *,
        endpoint: Endpoint | None = None,
        timeout: float = 30.0,
    ) -> bool:
        """Take ``revision`` (or one ``endpoint`` of it) out of the ready set, then wait up to
        ``timeout`` seconds for its in-flight requests. A later :meth:`set_endpoints` for the
        revision is authoritative again (a restarted replica comes back)."""
        ready = self._endpoints.get(service, {}).get(revision, ())
        remaining = () if endpoint is None else tuple(e for e in ready if e != endpoint)
        if remaining != ready:
            self._endpoints.setdefault(service, {})[revision] = remaining
            self._rebuild(service)
        key = (service, revision)
        if self._busy(key, endpoint) == 0:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._idle_waiters.setdefault(key, []).append((endpoint, waiter))
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return self._busy(key, endpoint) == 0
        finally:
            waiters = self._idle_waiters.get(key, [])
            if (endpoint, waiter) in waiters:
                waiters.remove((endpoint, waiter))
            if not waiters:
                self._idle_waiters.pop(key, None)
            waiter.cancel()
        return True

    # -- for the proxy (synchronous: it runs per request) --------------------------------

    def current(self, service: str) -> ServiceRoutes:
        """The current table of ``service`` (an empty one when nothing was ever set)."""
        routes = self._routes.get(service)
        return routes if routes is not None else ServiceRoutes(service)

    def next_index(self, service: str, revision: str) -> int:
        """A growing counter per revision: the proxy's round-robin position."""
        counter = self._round_robin.get((service, revision))
        if counter is None:
            counter = self._round_robin[(service, revision)] = itertools.count()
        return next(counter)

    def request_started(self, service: str, revision: str, endpoint: Endpoint) -> None:
        """The proxy is sending a request to ``endpoint``: :meth:`drain` waits for it."""
        per_endpoint = self._inflight.setdefault((service, revision), {})
        per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1

    def request_finished(self, service: str, revision: str, endpoint: Endpoint) -> None:
        """The request to ``endpoint`` is over (answered, failed or abandoned)."""
        key = (service, revision)
        per_endpoint = self._inflight[key]
        left = per_endpoint[endpoint] - 1
        if left:
            per_endpoint[endpoint] = left
            return
        del per_endpoint[endpoint]
        waiters = self._idle_waiters.get(key)
        if waiters:
            for which, waiter in waiters:
                if not waiter.done() and self._busy(key, which) == 0:
                    waiter.set_result(None)

    def inflight(self, service: str, revision: str) -> int:
        """Requests currently in flight to ``revision``."""
        return self._busy((service, revision), None)

    # -- internals -----------------------------------------------------------------------

    def _busy(self, key: _Key, endpoint: Endpoint | None) -> int:
        per_endpoint = self._inflight.get(key, {})
        if endpoint is None:
            return sum(per_endpoint.values())
        return per_endpoint.get(endpoint, 0)

    def _rebuild(self, service: str) -> ServiceRoutes:
        endpoints = self._endpoints.get(service, {})
        weights = self._weights.get(service, {})
        names = list(dict.fromkeys([*weights, *endpoints]))
        routes = ServiceRoutes(
            service,
            {n: RevisionRoute(n, weights.get(n, 0), endpoints.get(n, ())) for n in names},
            fencing_token=self._tokens.get(service),
            version=next(self._versions),
        )
        self._routes[service] = routes
        return routes

    def __repr__(self) -> str:
        services = ", ".join(f"{s}: {r.weights}" for s, r in sorted(self._routes.items()))
        return f"EmbeddedRouter({services})"


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not name or name != name.strip():
        raise InvalidRoute(f"a {kind} name must be a non-empty string, got {name!r}")
