from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from roost.traffic.routes import Endpoint, ServiceRoutes


@runtime_checkable
class Router(Protocol):
    """Steers a service's traffic between its revisions.

    One module per backend: :class:`~roost.traffic.EmbeddedRouter` drives the built-in proxy;
    a Gateway API (HTTPRoute weights) or haproxy (runtime API) backend implements the same
    calls. They are coroutines because every backend but the embedded one does network I/O,
    and the agent's event loop also carries the proxy: a blocking call would stall traffic.
    """

    async def set_endpoints(
        self, service: str, revision: str, endpoints: Iterable[Endpoint]
    ) -> ServiceRoutes:
        """Replace the *ready* endpoints of ``revision``; only these receive requests."""
        ...

    async def set_weights(
        self, service: str, weights: Mapping[str, int], *, fencing_token: int | None = None
    ) -> ServiceRoutes:
        """Replace the service's whole weight map in one atomic step.

        ``{"stable": 100, "canary": 0}`` moves every new request back to stable at once.
        Revisions left out of the map get weight 0. With a ``fencing_token`` lower than the
        highest one accepted for the service, nothing changes and
        :class:`~roost.traffic.StaleFencingToken` is raised.
        """
        ...

    async def routes(self, service: str) -> ServiceRoutes:
        """The service's current routing table (empty if nothing was set)."""
        ...

    async def table(self) -> Mapping[str, ServiceRoutes]:
        """Every service's routing table."""
        ...

    async def drain(
        self,
        service: str,
        revision: str,
        *,
        endpoint: Endpoint | None = None,
        timeout: float = 30.0,
    ) -> bool:
        """Stop sending new requests to ``revision`` (or one of its endpoints) and wait up to
        ``timeout`` seconds for the requests in flight; ``True`` when none are left.

        The runtime calls this before it sends SIGTERM to a replica.
        """
        ...
