"""Traffic steering: the Router protocol and the built-in proxy that implements it locally.

* :class:`Router` — set a revision's ready endpoints, replace a service's weights atomically
  (fenced), read the routing table, drain a revision. :class:`EmbeddedRouter` is the backend
  for the built-in proxy.
* :class:`EmbeddedProxy` — asyncio HTTP/1.1 reverse proxy, one listener per service, feeding
  :class:`roost.telemetry.Recorder`.
* :class:`AdminServer` — ``/metrics`` and ``/routes`` on a separate port.
* :func:`install_uvloop` — opt in to uvloop (never done at import).
"""

from roost.traffic._protocol import Router
from roost.traffic.admin import AdminServer
from roost.traffic.errors import InvalidRoute, StaleFencingToken, TrafficError
from roost.traffic.forwarding import UNROUTED
from roost.traffic.loops import install_uvloop
from roost.traffic.proxying import EmbeddedProxy
from roost.traffic.routes import Endpoint, RevisionRoute, ServiceRoutes
from roost.traffic.routing import EmbeddedRouter

__all__ = [
    "UNROUTED",
    "AdminServer",
    "EmbeddedProxy",
    "EmbeddedRouter",
    "Endpoint",
    "InvalidRoute",
    "RevisionRoute",
    "Router",
    "ServiceRoutes",
    "StaleFencingToken",
    "TrafficError",
    "install_uvloop",
]
