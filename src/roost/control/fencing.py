"""The lead, as the executor, the SLO watcher and the control plane see it: whether this
process leads, and the fence its writes carry (:class:`~roost.control.leadership.duties.GateLeader`
is the gate behind it). A protocol at the bottom of ``roost.control``, so the layers that write
need not import the one that elects."""

from __future__ import annotations

from typing import Protocol

from roost.store import Fence


class Leader(Protocol):
    """Whether this control plane leads, and the fence its writes carry
    (:class:`~roost.control.leadership.duties.GateLeader`). ``fence`` is never None: asked on a
    process that does not lead, it raises."""

    @property
    def leading(self) -> bool: ...

    @property
    def fence(self) -> Fence: ...
