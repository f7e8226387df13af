"""Errors a caller of a router can cause."""

from __future__ import annotations


class TrafficError(Exception):
    """Base class of roost.traffic's errors."""


class StaleFencingToken(TrafficError):
    """A weight update carried a lower fencing token than one the router already accepted.

    This is how a paused ex-leader is stopped at the data plane: once a newer leader (with a
    higher token) has written, nothing the old one sends can move traffic again.
    """

    def __init__(self, service: str, token: int | None, highest: int) -> None:
        self.service = service
        self.token = token
        self.highest = highest
        shown = "no token" if token is None else f"token {token}"
        super().__init__(
            f"refused a weight update for service {service!r} with {shown}: the router has "
            f"already accepted token {highest} (a newer leader wrote; this writer is stale)"
        )


class InvalidRoute(TrafficError):
    """A routing update that makes no sense (negative weight, empty name, bad endpoint)."""
