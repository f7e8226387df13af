"""Routing tables as plain, immutable data.

A :class:`ServiceRoutes` is replaced whole on every update, never changed in place: the proxy
reads one per request, so a request sees either the old table or the new one — never half of
a weight change. That is what makes "move 100 % back to stable" a single atomic step.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from roost.traffic.errors import InvalidRoute


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where one replica listens."""

    host: str
    port: int

    def __post_init__(self) -> None:
        if not self.host or not 0 < self.port < 65536:
            raise InvalidRoute(f"not a usable endpoint: host={self.host!r} port={self.port!r}")

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """``"127.0.0.1:8080"`` or ``"[::1]:8080"`` → :class:`Endpoint`."""
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit():
            raise InvalidRoute(f"not a host:port endpoint: {text!r}")
        return cls(host.removeprefix("[").removesuffix("]"), int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class RevisionRoute:
    """One revision of a service: its weight and its *ready* endpoints."""

    name: str
    weight: int
    endpoints: tuple[Endpoint, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "weight": self.weight,
            "endpoints": [str(e) for e in self.endpoints],
        }


@dataclass(frozen=True)
class ServiceRoutes:
    """Everything the proxy needs to route one service's requests, at one version.

    ``revisions`` holds every known revision, weighted or not: a revision with weight 0 is
    still reachable through the ``x-roost-revision`` header (blue-green previews).
    """

    service: str
    revisions: Mapping[str, RevisionRoute] = field(default_factory=dict)
    fencing_token: int | None = None
    version: int = 0
    # Derived once per table: the revisions a weighted pick can land on and their cumulative
    # weights, so that a pick is one bisect.
    _pickable: tuple[RevisionRoute, ...] = field(init=False, repr=False, compare=False)
    _cumulative: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "revisions", MappingProxyType(dict(self.revisions)))
        # A weighted revision without ready endpoints gives its share to the others instead of
        # turning it into errors: losing the canary's replicas must not fail 20 % of requests.
        pickable = tuple(r for r in self.revisions.values() if r.weight > 0 and r.endpoints)
        cumulative: list[int] = []
        total = 0
        for route in pickable:
            total += route.weight
            cumulative.append(total)
        object.__setattr__(self, "_pickable", pickable)
        object.__setattr__(self, "_cumulative", tuple(cumulative))

    def pick(self, draw: float) -> RevisionRoute | None:
        """The revision a request goes to, for a uniform ``draw`` in [0, 1).

        ``None`` when no weighted revision has a ready endpoint.
        """
        if not self._pickable:
            return None
        point = draw * self._cumulative[-1]
        return self._pickable[bisect.bisect_right(self._cumulative, point)]

    @property
    def weights(self) -> dict[str, int]:
        """The weight map (revision → weight)."""
        return {name: r.weight for name, r in self.revisions.items()}

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, as served at the admin listener's ``/routes``."""
        total = sum(r.weight for r in self._pickable)
        return {
            "service": self.service,
            "version": self.version,
            "fencing_token": self.fencing_token,
            "revisions": {
                name: {
                    **r.to_json(),
                    # The share a request actually gets, after unready revisions are skipped.
                    "share": (r.weight / total) if total and r in self._pickable else 0.0,
                }
                for name, r in sorted(self.revisions.items())
            },
        }
