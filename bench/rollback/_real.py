"""Part 1 of the rollback benchmark: real canaries on the embedded runtime under real traffic.

One project with ``2N`` services (``fault-i`` and ``healthy-i``), started with ``roost up``;
traffic through roost's router to every service; then one rollout per service, all at once,
driven by one control plane. The faulty canaries answer half their requests with 500s
(``HELLO_FAIL_RATE=0.5``); the healthy ones are the same code. Every request remembers when it
started and which revision answered, so "no request reached a canary after its revert" is
checked from the client's side, not from roost's own timeline.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]

SERVICE = """\
  - name: {name}
    command: python3 app.py
    replicas: 1
    probes:
      readiness:
        http:
          path: /healthz
        period: 1s
    rollout:
      strategy: canary
      steps:
        - set_weight: 25
        - analysis:
            duration: 5s
    analysis:
      interval: 1s
      checks:
        - metric: error_ratio
          max: 0.05
      min_samples: 5
      # A quiet second at 25% is inconclusive; the bench measures rollbacks, not pauses.
      inconclusive_limit: 10
"""


def roost(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ROOST_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "roost", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


@dataclass
class Traffic:
    """Clients for every service: (started, revision) of each answered request."""

    urls: dict[str, str]
    rps: float
    seen: dict[str, list[tuple[datetime, str | None, int]]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for service, url in self.urls.items():
            self.seen[service] = []
            for _ in range(2):
                thread = threading.Thread(target=self._run, args=(service, url), daemon=True)
                thread.start()
                self.threads.append(thread)

    def _run(self, service: str, url: str) -> None:
        gap = 2 / self.rps
        with httpx.Client(timeout=5) as client:
            next_at = time.monotonic()
            while not self.stop.is_set():
                started = datetime.now(UTC)
                try:
                    response = client.get(url + "/bench")
                    answer = (
                        started,
                        response.headers.get("x-roost-revision"),
                        response.status_code,
                    )
                except httpx.HTTPError:
                    answer = (started, None, 0)
                self.seen[service].append(answer)
                next_at += gap
                self.stop.wait(max(0.0, next_at - time.monotonic()))

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


@dataclass
class RealResult:
    faulty: list[dict[str, Any]]
    healthy: list[dict[str, Any]]
    late_requests: int
    unanswered: int
    requests: int
    baseline: list[float]


_AUTH: dict[str, str] = {}
"""The project owner's credential (roost up saved it in .roost/auth/token)."""


def _api(root: Path) -> str:
    token = (root / ".roost" / "auth" / "token").read_text().strip()
    _AUTH["Authorization"] = f"Bearer {token}"
    return str(json.loads((root / ".roost" / "api.json").read_text())["url"])


def _wait_ready(api: str, services: list[str], timeout: float = 120) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = httpx.get(api + "/api/v1/ps", headers=_AUTH, timeout=10).json()["services"]
        urls = {}
        for name in services:
            revisions = state.get(name, {}).get("revisions", [])
            if revisions and all(r["ready_replicas"] >= 1 for r in revisions):
                urls[name] = state[name]["url"]
        if len(urls) == len(services):
            return urls
        time.sleep(0.5)
    raise SystemExit("the services did not become ready in time")


def run(n: int, *, rps: float) -> RealResult:
    root = Path(tempfile.mkdtemp(prefix="roost-bench-rollback-"))
    shutil.copy(REPO / "examples" / "canary" / "app.py", root / "app.py")
    faulty = [f"fault-{i}" for i in range(n)]
    healthy = [f"healthy-{i}" for i in range(n)]
    services = faulty + healthy
    (root / "roost.yaml").write_text(
        "project: bench\nversion: 1\nenvironments:\n  dev: {}\nservices:\n"
        + "".join(SERVICE.format(name=name) for name in services)
    )
    up = roost("up", "--project", str(root))
    if up.returncode != 0:
        raise SystemExit(f"roost up failed: {up.stderr or up.stdout}")
    traffic = None
    try:
        api = _api(root)
        urls = _wait_ready(api, services)
        traffic = Traffic(urls, rps)
        traffic.start()
        time.sleep(2)
        baseline = _baseline(api, healthy[0])
        with ThreadPoolExecutor(len(services)) as pool:
            started = list(
                pool.map(lambda name: _deploy(api, name, faulty=name in faulty), services)
            )
        ids = {view["service"]: view["id"] for view in started if "id" in view}
        if len(ids) != len(services):
            raise SystemExit(f"not every deploy started: {started}")
        views = _wait_ended(api, ids)
        time.sleep(1)  # requests in flight at the revert finish
        traffic.close()
        late = _late(views, traffic)
        answered = [a for seen in traffic.seen.values() for a in seen]
        return RealResult(
            faulty=[views[s] for s in faulty],
            healthy=[views[s] for s in healthy],
            late_requests=late,
            unanswered=sum(1 for _, revision, _ in answered if revision is None),
            requests=len(answered),
            baseline=baseline,
        )
    finally:
        if traffic is not None:
            traffic.close()
        log = (root / ".roost" / "serve.log").read_text(errors="replace").splitlines()
        problems = [line for line in log if "Error" in line or "Traceback" in line]
        if problems:
            print("control plane log:\n  " + "\n  ".join(log[-40:]), file=sys.stderr)
        roost("down", "--project", str(root))
        _kill_leftovers(root)
        shutil.rmtree(root, ignore_errors=True)


def _deploy(api: str, service: str, *, faulty: bool) -> dict[str, Any]:
    body = {
        "service": service,
        "env": {"HELLO_FAIL_RATE": "0.5"} if faulty else {},
    }
    response = httpx.post(api + "/api/v1/rollouts", json=body, headers=_AUTH, timeout=60)
    if response.status_code != 201:
        raise SystemExit(f"deploy of {service}: {response.status_code} {response.text[:300]}")
    view: dict[str, Any] = response.json()
    return view


def _baseline(api: str, service: str, count: int = 20) -> list[float]:
    """A person's weight change through the API (same weights again), for comparison."""
    state = httpx.get(api + "/api/v1/ps", headers=_AUTH, timeout=10).json()["services"][service]
    weights = state["weights"]
    times = []
    with httpx.Client(headers=_AUTH, timeout=10) as client:
        for _ in range(count):
            began = time.perf_counter()
            client.put(f"{api}/api/v1/services/{service}/weights", json={"weights": weights})
            times.append(time.perf_counter() - began)
    return times


def _wait_ended(api: str, ids: dict[str, str], timeout: float = 180) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    views: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        for service, rollout_id in ids.items():
            if service in views:
                continue
            view = httpx.get(
                f"{api}/api/v1/rollouts/{rollout_id}/status", headers=_AUTH, timeout=10
            ).json()
            if not view["active"] or view["state"] == "paused":
                views[service] = view
        if len(views) == len(ids):
            return views
        time.sleep(0.5)
    raise SystemExit(f"rollouts still running after {timeout}s: {sorted(set(ids) - set(views))}")


def _late(views: dict[str, dict[str, Any]], traffic: Traffic) -> int:
    """Requests that *started* after a canary's revert and were still answered by it."""
    late = 0
    for service, view in views.items():
        abort = view.get("abort") or {}
        if not abort.get("traffic_reverted_at"):
            continue
        reverted = datetime.fromisoformat(abort["traffic_reverted_at"])
        late += sum(
            1
            for started, revision, _ in traffic.seen[service]
            if started > reverted and revision == view["to_release"]
        )
    return late


def _kill_leftovers(root: Path) -> None:
    for state in (root / ".roost" / "agent" / "runtime").glob("**/state.json"):
        try:
            replicas = json.loads(state.read_text()).get("replicas", [])
        except (OSError, ValueError):
            continue
        for replica in replicas:
            pid = replica.get("pid")
            if isinstance(pid, int):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
