"""Helpers for the progressive-rollout tests: a project built from examples/canary with short
steps, real traffic through the router that remembers who answered each request, and the API
calls the tests make to look at rollouts."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from tests._auth import owner_headers
from tests._roost import REPO, kill_leftovers, roost

CANARY = REPO / "examples" / "canary"

# Short on purpose: a step of analysis is two or three verdicts of one second each. Each verdict
# needs 5 requests to the canary in its second; a busy machine's load generator may send fewer,
# and an inconclusive verdict only extends the analysis, so a few in a row are allowed before
# the rollout pauses (a pass or a fail is judged exactly as before).
SERVICE = """\
project: canary
version: 1
environments:
  dev:
{environment}
services:
  - name: web
    command: python3 app.py
    listen: auto
    replicas: 1
    env:
      HELLO_GREETING: hello
    config_files:
      - path: greeting.txt
        content: "{greeting}"
    secrets:
      - name: APP_TOKEN
        from: env:{token}
    probes:
      readiness:
        http:
          path: /healthz
        period: 1s
{warmup}
    rollout:
      strategy: canary
      steps:
        - set_weight: 20
        - analysis:
            duration: 2s
        - set_weight: 50
        - analysis:
            duration: 2s
      abort_scale_down_delay: 2s
    analysis:
      interval: 1s
      checks:
        - metric: error_ratio
          max: 0.05
      min_samples: 5
      inconclusive_limit: 6
      consecutive_failure_limit: 2
    schema:
      requires: "{requires}"
      migrates_to: {migrates_to}
"""

TOKENS = {"APP_TOKEN_V1": "alpha", "APP_TOKEN_V2": "beta"}


def write_project(
    root: Path,
    *,
    greeting: str = "v1",
    token: str = "APP_TOKEN_V1",
    requires: str = "==1",
    migrates_to: int = 1,
    environment: str = "    {}",
    warmup: str = "",
) -> None:
    """(Re)write ``root``'s roost.yaml; the app comes from examples/canary."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(CANARY / "app.py", root / "app.py")
    (root / "roost.yaml").write_text(
        SERVICE.format(
            greeting=greeting,
            token=token,
            requires=requires,
            migrates_to=migrates_to,
            environment=environment,
            warmup=warmup,
        )
    )


def api(root: Path) -> str:
    return str(json.loads((root / ".roost" / "api.json").read_text())["url"])


def get(root: Path, path: str) -> Any:
    response = httpx.get(api(root) + path, headers=owner_headers(root), timeout=10)
    response.raise_for_status()
    return response.json()


def router_url(root: Path) -> str:
    return str(get(root, "/api/v1/ps")["services"]["web"]["url"])


def rollout(root: Path, what: str = "web") -> dict[str, Any]:
    """The rollout's status view (with its timeline): by id, or the service's latest."""
    found = get(root, f"/api/v1/rollouts/find/{what}")
    status: dict[str, Any] = get(root, f"/api/v1/rollouts/{found['id']}/status")
    return status


def wait_for(check: Any, *, timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextmanager
def running(root: Path) -> Iterator[Path]:
    """``roost up`` for ``root`` (with the secrets in the environment), ``roost down`` after."""
    up = roost("up", "--project", str(root), env=TOKENS, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield root
    finally:
        roost("down", "--project", str(root), timeout=120)
        kill_leftovers(root)


@dataclass(frozen=True)
class Sample:
    started: datetime
    revision: str | None
    status: int | None
    seconds: float
    cold: bool = False
    """The replica said this answer came from its cold caches (examples/canary's
    ``x-hello-cold`` header): judged by the app, not by latency on a loaded machine."""


@dataclass
class Load:
    """Real traffic through the router: ``threads`` clients, each request remembered with when
    it started and which revision answered it (the router's ``x-roost-revision`` header)."""

    url: str
    threads: int = 4
    pause: float = 0.005
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=15)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                started = datetime.now(UTC)
                began = time.perf_counter()
                try:
                    response = client.get(self.url + "/load")
                    sample = Sample(
                        started,
                        response.headers.get("x-roost-revision"),
                        response.status_code,
                        time.perf_counter() - began,
                        cold=response.headers.get("x-hello-cold") == "1",
                    )
                except httpx.HTTPError:
                    sample = Sample(started, None, None, time.perf_counter() - began)
                self.samples.append(sample)
                self._stop.wait(self.pause)

    def by(self, revision: str) -> list[Sample]:
        return [s for s in list(self.samples) if s.revision == revision]
