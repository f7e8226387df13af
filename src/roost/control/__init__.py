"""The control plane: wiring and daemons (reconcilers, the leader-election gate).

Faces (``roost.cli``, ``roost.api``) call into here; control wires domain decisions to platform
backends. It holds no business rules of its own.
"""
