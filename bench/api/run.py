"""Benchmark: what authentication + authorization adds to one API call.

    .venv/bin/python bench/api/run.py [--calls 2000]

One ``roost serve`` app (the real FastAPI app over a real state store, served by uvicorn on
127.0.0.1) answers the same calls over real HTTP in three ways, interleaved in small batches so
that drift hits each alike:

* **auth off** — the baseline: the bench replaces every route's ``require(...)`` dependency with
  one that returns a fixed principal (FastAPI's ``dependency_overrides``; there is no switch
  that turns authentication off in roost itself);
* **auth, cached** — a roost token as every client sends it, its lookup cached (the normal case:
  a credential is looked up in the store at most once per 5 s per process);
* **auth, uncached** — the cache emptied before every call: the store lookup of the token hash,
  its role bindings and (a scoped route) the rollout's environment, every time.

Calls: ``GET /api/v1/releases?limit=1`` (project-wide read) and ``GET /api/v1/rollouts/{id}``
(checked on the rollout's own environment). Reported: p50 and p99 per call and way, and what
auth adds (p50 and p99 of the difference). Goal (issue 13): ≤ 1 ms p99 added.

Not a test: it times things and prints a table; CI never runs it.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import typing
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

from roost.api import create_app  # noqa: E402
from roost.api.auth import Grant, Principal, Role, new_token, token_hash  # noqa: E402
from roost.api.routes import _deps  # noqa: E402
from roost.control.workspace import open_workspace  # noqa: E402

BATCH = 100


def _requirements() -> list[Callable[..., object]]:
    """Every Requirement the routes declare (the metadata of the _deps aliases)."""
    found = []
    for name in ("Reader", "ScopedReader", "Deployer", "Approver", "Operator", "Applier", "Admin"):
        alias = getattr(_deps, name)
        for meta in typing.get_args(alias)[1:]:
            dependency = getattr(meta, "dependency", None)
            if dependency is not None:
                found.append(dependency)
    return found


async def _fixed_principal() -> Principal:
    return Principal(subject="bench", via="token", grants=(Grant(Role.ADMIN),))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000, help="Calls per path and way.")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="roost-bench-api-"))
    root = tmp / "canary"
    shutil.copytree(REPO / "examples" / "canary", root)
    try:
        with open_workspace(root) as ws:
            token = new_token()
            ws.store.tokens.create(
                "bench",
                token_hash=token_hash(token),
                created_by="bench",
                bindings=[("viewer", "*", "*")],
            )
            config = ws.project.resolved_service("web").model_dump(mode="json", by_alias=True)
            release = ws.store.releases.create(
                "web", artifact="dir:x", config=config, secrets={}, schema_requires="",
                created_by="bench",
            )  # fmt: skip
            rollout = ws.store.rollouts.create(
                "web", "dev", to_release=release.id, strategy="canary", state="progressing"
            )
            app = create_app(ws)
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            server = uvicorn.Server(
                uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
            )
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.01)
            try:
                _run(app, ws, f"http://127.0.0.1:{port}", token, rollout.id, args.calls)
            finally:
                server.should_exit = True
                thread.join(timeout=10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(app: object, ws: object, base: str, token: str, rollout_id: str, calls: int) -> None:
    auth = app.state.auth  # type: ignore[attr-defined]
    overrides = app.dependency_overrides  # type: ignore[attr-defined]
    requirements = _requirements()
    paths = {
        "GET /api/v1/releases?limit=1": "/api/v1/releases?limit=1",
        "GET /api/v1/rollouts/{id}": f"/api/v1/rollouts/{rollout_id}",
    }
    ways = ("auth off", "auth, cached", "auth, uncached")
    times: dict[tuple[str, str], list[float]] = {(p, w): [] for p in paths for w in ways}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10) as client:
        for label, path in paths.items():
            for _ in range(20):  # warm-up: connections, caches, the JIT-less Python paths
                client.get(path, headers=headers).raise_for_status()
            done = 0
            while done < calls:
                for way in ways:
                    if way == "auth off":
                        overrides.update(dict.fromkeys(requirements, _fixed_principal))
                    for _ in range(BATCH):
                        if way == "auth, uncached":
                            auth.invalidate()
                        began = time.perf_counter()
                        response = client.get(path, headers=headers)
                        times[(label, way)].append(time.perf_counter() - began)
                        assert response.status_code == 200, response.text
                    overrides.clear()
                done += BATCH
    print(f"{calls} calls per path and way, over HTTP to uvicorn on 127.0.0.1, one client")
    print()
    print(f"{'call':32} {'way':16} {'p50 ms':>8} {'p99 ms':>8} {'+p50 ms':>8} {'+p99 ms':>8}")
    for label in paths:
        base_times = times[(label, "auth off")]
        for way in ways:
            values = times[(label, way)]
            p50, p99 = _pct(values, 0.5) * 1e3, _pct(values, 0.99) * 1e3
            add50 = p50 - _pct(base_times, 0.5) * 1e3
            add99 = p99 - _pct(base_times, 0.99) * 1e3
            extra = "" if way == "auth off" else f" {add50:8.3f} {add99:8.3f}"
            print(f"{label:32} {way:16} {p50:8.3f} {p99:8.3f}{extra}")
    print()
    print("goal: auth, cached adds ≤ 1 ms at p99; mean of all calls:", end=" ")
    print(f"{statistics.mean(v for vs in times.values() for v in vs) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
