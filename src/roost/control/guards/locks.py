"""The rollout guardrail's deploy locks: while a rollout of service S in environment E runs,
the leading control plane holds the lock ``deploy/E/S`` (:mod:`roost.leases.locking`) with the
reason ``rollout <id>``, renews it while the rollout runs and releases it when it ends; a
deploy finds the lock held by anyone else and is refused, naming the holder and the reason.

The holder is the control plane as a role (:data:`HOLDER`), not one process: a new leader
carries on its predecessor's rollouts, so it carries on their locks too, at once (a holder may
always re-take its own lock). Which process acted is in the audit log and the fence; the lock
says *that* the control plane is deploying S to E, and why. Anyone else (a CI job, a person
doing maintenance, a tool) who takes ``deploy/E/S`` keeps roost's deploys out until it releases
the lock or dies and the lock expires — never a file to force-unlock.

Locks are kept by :meth:`DeployLocks.keep`, which the leader's duties call every
:data:`KEEP_EVERY` seconds with the active rollouts; the lock outlives a missed call or two
(:data:`LOCK_SECONDS`), and expires by itself when the whole control plane is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from roost.leases import LeaseError, Locks
from roost.rollout import Refusal
from roost.store import RolloutRecord, StoreError

log = logging.getLogger("roost.control.guards.locks")

HOLDER = "control-plane"
LOCK_SECONDS = 30.0
KEEP_EVERY = 1.0


def lock_name(service: str, environment: str) -> str:
    return f"deploy/{environment}/{service}"


class DeployLocks:
    """The control plane's deploy locks on ``locks`` (the configured lease backend)."""

    def __init__(self, locks: Locks, *, holder: str = HOLDER) -> None:
        self.locks = locks
        self.holder = holder
        self._held: dict[str, str] = {}  # lock name -> rollout id

    def check(self, service: str, environment: str, *, now: datetime) -> Refusal | None:
        """A refusal when someone other than the control plane holds ``deploy/E/S``."""
        name = lock_name(service, environment)
        try:
            lock = self.locks.get(name)
        except (LeaseError, StoreError) as exc:
            return Refusal(
                "deploy_lock",
                f"cannot read deploy lock {name}: {exc}",
                "check that the lease backend is reachable, then retry",
            )
        if lock is None or lock.holder == self.holder or now >= lock.expires_at:
            return None
        why = f" for {lock.reason!r}" if lock.reason else ""
        return Refusal(
            "deploy_lock",
            f"deploy lock {name} is held by {lock.holder}{why} until "
            f"{lock.expires_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC",
            "wait until it is released (`roost lock list` shows it), or break it with "
            f"`roost lock release {name} --reason ...`; it expires on its own if its holder dies",
        )

    def keep(self, active: Iterable[RolloutRecord]) -> None:
        """Hold the lock of every active rollout (taking new ones, renewing the others) and
        release the locks of rollouts that have ended."""
        wanted = {lock_name(r.service, r.environment): r.id for r in active}
        for name, rollout_id in wanted.items():
            try:
                self._keep_one(name, rollout_id)
            except (LeaseError, StoreError) as exc:
                log.warning("deploy lock %s: %s", name, exc)
        for name in [n for n in self._held if n not in wanted]:
            try:
                self.locks.release(name, self.holder)
            except (LeaseError, StoreError) as exc:
                log.warning("deploy lock %s not released (it expires by itself): %s", name, exc)
            self._held.pop(name, None)

    def _keep_one(self, name: str, rollout_id: str) -> None:
        if self._held.get(name) == rollout_id:
            try:
                self.locks.renew(name, self.holder)
                return
            except LeaseError:
                self._held.pop(name, None)  # lost (broken by someone): take it again below
        taken = self.locks.acquire(
            name, self.holder, reason=f"rollout {rollout_id}", duration_seconds=LOCK_SECONDS
        )
        if taken is None:
            current = self.locks.get(name)
            who = current.holder if current else "someone"
            log.warning(
                "rollout %s runs without its deploy lock %s: %s holds it", rollout_id, name, who
            )
            return
        self._held[name] = rollout_id

    def release_all(self) -> None:
        """Stepping down: forget the locks (the next leader re-takes them as the same holder;
        they expire if nobody does)."""
        self._held.clear()

    def __repr__(self) -> str:
        return f"DeployLocks(holder={self.holder!r}, held={sorted(self._held)})"
