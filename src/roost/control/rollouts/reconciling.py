"""The rollout loop inside ``roost serve``: a background thread that calls the executor's
``tick`` at least once a second, sooner when a rollout's wait runs out or an operation pokes it.

A thin gate in the Argo Rollouts manner: the loop runs in every ``roost serve``, and the
executor does nothing unless this process leads the control plane.
"""

from __future__ import annotations

import logging
import threading

from roost.control.rollouts.executor import TICK_SECONDS, RolloutExecutor

log = logging.getLogger("roost.control.rollouts.reconciling")


class Reconciler:
    """Runs :meth:`RolloutExecutor.tick` on a daemon thread until :meth:`stop`."""

    def __init__(self, executor: RolloutExecutor) -> None:
        self.executor = executor
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rollouts", daemon=True)

    def start(self) -> Reconciler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.executor.wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.executor.warmer.close()

    def _run(self) -> None:
        wake = self.executor.wake
        while not self._stop.is_set():
            try:
                delay = self.executor.tick()
            except Exception:  # a bug in one tick must not end rollouts for good
                log.exception("rollout tick failed")
                delay = TICK_SECONDS
            wake.wait(delay)
            wake.clear()

    def __repr__(self) -> str:
        state = "running" if self._thread.is_alive() else "stopped"
        return f"Reconciler({state})"
