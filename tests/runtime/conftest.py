"""Fixtures for the runtime tests: specs for the test workload, a runtime per test, and a
reaper that kills whatever processes a test left behind (even if it failed half-way)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests._reaping import Descendants, mentioning, reap, recorded_in

from roost.clock import RealClock
from roost.runtime import ProbeSpec, RevisionSpec
from roost.runtime.local import LocalRuntime

WORKLOAD = Path(__file__).with_name("workload.py")


class Kit:
    """Helpers shared by the runtime tests, bound to one test's temporary directory."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.state_dir = tmp_path / "state"

    def spec(
        self, *args: str, service: str = "web", revision: str = "r1", **fields: Any
    ) -> RevisionSpec:
        """A spec running the test workload with ``args``: fast restarts and a readiness probe
        on /ready (without one a replica is ready before it listens, as in Kubernetes)."""
        defaults: dict[str, Any] = {
            "probes": {"readiness": self.http_probe("/ready")},
            "service": service,
            "revision": revision,
            "command": [sys.executable, str(WORKLOAD), *args],
            "workdir": self.tmp_path,
            "grace_period": 2.0,
            "backoff": {"initial": 0.2, "factor": 2.0, "maximum": 5.0},
        }
        return RevisionSpec.model_validate({**defaults, **fields})

    @staticmethod
    def http_probe(path: str, **timing: Any) -> ProbeSpec:
        """An HTTP probe checking often (period 0.1 s) but patient (timeout 3 s), so a loaded
        test machine does not turn a slow answer into a failed probe."""
        return ProbeSpec.model_validate(
            {"http": {"path": path}, "period": 0.1, "timeout": 3.0, **timing}
        )

    def runtime(self, **options: Any) -> LocalRuntime:
        """A runtime on this test's state directory, sampling fast."""
        return LocalRuntime(self.state_dir, poll_interval=0.05, **options)

    def run(self, body: Callable[[LocalRuntime], Awaitable[None]], **options: Any) -> None:
        """Run ``body(runtime)`` in a fresh event loop; then stop every revision and close."""

        async def main() -> None:
            runtime = self.runtime(**options)
            try:
                await body(runtime)
            finally:
                for status in runtime.status():
                    await runtime.stop(status.service, status.revision, grace_period=0.5)
                await runtime.aclose()

        asyncio.run(main())

    @staticmethod
    async def wait_until(
        condition: Callable[[], object],
        *,
        timeout: float = 30.0,
        what: str = "condition",
        show: Callable[[], object] | None = None,
    ) -> None:
        """Wait for ``condition()`` to become true (state that changes asynchronously)."""
        clock = RealClock()
        deadline = clock.monotonic() + timeout
        while not condition():
            if clock.monotonic() > deadline:
                seen = f"; now: {show()}" if show is not None else ""
                raise AssertionError(f"timed out after {timeout}s waiting for {what}{seen}")
            await asyncio.sleep(0.02)

    @staticmethod
    async def get(port: int, path: str = "/") -> httpx.Response:
        """GET from a replica on 127.0.0.1."""
        async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
            return await client.get(f"http://127.0.0.1:{port}{path}")


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    return Kit(tmp_path)


@pytest.fixture(autouse=True)
def reaper(tmp_path: Path) -> Iterator[None]:
    """After each test, kill every process it started, even if it failed half-way: the
    replicas and shims its runtime recorded, processes naming this test's directory, and the
    descendants of this process that appeared during the test. Nothing else: a session's
    servers and other xdist workers' processes run beside it."""
    started = Descendants()
    yield
    reap(
        [
            *recorded_in(tmp_path),
            *mentioning(tmp_path),
            *started.new(),
        ]
    )
