"""Handing out ports to replicas.

The kernel picks a free port (bind to port 0) but does not reserve it: the replica binds it a
moment later. The book remembers which ports it gave to replicas of this runtime so two replicas
starting at once never get the same one, and a restarted replica keeps its port while it is
free, so the router's endpoint list does not churn on every crash.
"""

from __future__ import annotations

from roost.runtime.local.processes import pick_free_port, port_is_free


class PortBook:
    """The ports given to this runtime's replicas on ``host``."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._taken: set[int] = set()

    def claim(self, port: int) -> None:
        """Record a port a replica already holds (an adopted one)."""
        self._taken.add(port)

    def release(self, port: int | None) -> None:
        """Give a port back (its replica is gone for good)."""
        if port is not None:
            self._taken.discard(port)

    def assign(self, *, previous: int | None, fixed: int | None) -> int:
        """The port for a (re)start: ``fixed`` if the spec sets one, else ``previous`` if it is
        still free, else a new free port. Raises ``OSError`` with a clear message if ``fixed``
        is in use."""
        if fixed is not None:
            if fixed in self._taken and previous != fixed:
                raise OSError(
                    f"port {fixed} is already given to another replica (a fixed port "
                    "allows one replica per machine)"
                )
            if not port_is_free(fixed, host=self.host):
                raise OSError(f"port {fixed} on {self.host} is already in use by another process")
            self._taken.add(fixed)
            return fixed
        if previous is not None and port_is_free(previous, host=self.host):
            self._taken.add(previous)
            return previous
        self.release(previous)
        port = pick_free_port(host=self.host, avoid=self._taken)
        self._taken.add(port)
        return port

    def __repr__(self) -> str:
        return f"PortBook({self.host}, taken={sorted(self._taken)})"
