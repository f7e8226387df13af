"""Benchmark: a small backend directly, through roost's embedded proxy, and through haproxy.

    .venv/bin/python bench/proxy/run.py [--requests N] [--cap SECONDS] [--connections C]

Every path gets the same bounded load: from ``wrk`` when installed (C, so the load generator
is not the bottleneck) for ``--cap`` seconds, else from a Python generator that stops at
``--requests`` or ``--cap`` seconds, whichever comes first. The proxy and haproxy split
traffic 80/20 between two backend listeners; haproxy runs single-threaded, like the proxy's
one event loop. Then a fixed-rate run at 1,000 requests/s (Python generator, at most
``--rate-seconds``) reports the latency each path adds (target: p99 ≤ 2 ms).

Not a test: it times things, prints a table, and CI never runs it. Numbers depend on the
machine; compare rows of the same run only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from roost.traffic import install_uvloop

sys.path.insert(0, str(Path(__file__).parent))
from _load import Result, closed_loop, fixed_rate

HERE = Path(__file__).parent
WEIGHTS = {"v1": 80, "v2": 20}


@dataclass
class Row:
    path: str
    tool: str
    requests: int
    rate: float
    p50: float  # seconds
    p99: float
    errors: int = 0


@contextmanager
def process(args: list[str]) -> Iterator[tuple[subprocess.Popen[str], dict[str, int]]]:
    """A helper process that prints one JSON line (its ports) once ready; stopped after."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{args[1]} exited before it was ready")
        yield proc, json.loads(line)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"haproxy exited with status {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


@contextmanager
def haproxy(ports: dict[str, int]) -> Iterator[int | None]:
    """haproxy with the same weights, on an ephemeral port; ``None`` if not installed."""
    binary = shutil.which("haproxy")
    if binary is None:
        yield None
        return
    port = free_port()
    servers = "\n".join(
        f"    server {name} 127.0.0.1:{ports[name]} weight {weight}"
        for name, weight in WEIGHTS.items()
    )
    config = f"""
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
    http-reuse always
frontend bench
    bind 127.0.0.1:{port}
    default_backend revisions
backend revisions
    balance random
{servers}
"""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "haproxy.cfg"
        cfg.write_text(config)
        proc = subprocess.Popen([binary, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL)
        try:
            wait_listening(port, proc)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def haproxy_version() -> str:
    binary = shutil.which("haproxy")
    if binary is None:
        return "not installed"
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"version (\S+)", out)
    return found.group(1) if found else "?"


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise ValueError(f"wrk printed a latency this script cannot read: {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def run_wrk(port: int, *, requests: int, cap: float, connections: int) -> Row:
    """``wrk`` for ``cap`` seconds. wrk cannot stop at a request count without reporting the
    full duration anyway (its Lua ``thread:stop()`` leaves the clock running), so its runs are
    bounded by duration only; ``requests`` is unused."""
    del requests
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{cap:g}s", "--latency", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
        timeout=cap + 30,
    ).stdout
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _seconds(re.search(r"50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _seconds(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    count = int(errors.group(1)) if errors else 0
    count += sum(int(n) for n in failed.groups()) if failed else 0
    return Row("", "wrk", done, rate, p50, p99, count)


def run_python(port: int, *, requests: int, cap: float, connections: int) -> Row:
    result = asyncio.run(closed_loop(port, requests=requests, connections=connections, cap=cap))
    return _row(result, "python")


def _row(result: Result, tool: str) -> Row:
    return Row(
        "",
        tool,
        result.requests,
        result.rate,
        result.quantile(0.5),
        result.quantile(0.99),
        result.errors,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40_000)
    parser.add_argument("--cap", type=float, default=5.0, help="seconds per run, at most")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5, help="fixed-rate rounds per path")
    args = parser.parse_args()

    install_uvloop()
    before = os.getloadavg()[0]  # other work on the machine skews every number below
    load = run_wrk if shutil.which("wrk") else run_python
    python = sys.executable
    with process([python, str(HERE / "_backend.py"), *WEIGHTS]) as (_, ports):
        spec = {name: [ports[name], weight] for name, weight in WEIGHTS.items()}
        with (
            process([python, str(HERE / "_proxy.py"), json.dumps(spec)]) as (_, proxied),
            haproxy(ports) as haproxy_port,
        ):
            paths = {"direct": ports["v1"], "embedded proxy": proxied["port"]}
            if haproxy_port is not None:
                paths["haproxy"] = haproxy_port
            rows: list[Row] = []
            for name, port in paths.items():
                load(port, requests=2_000, cap=1, connections=args.connections)  # warm up
                row = load(port, requests=args.requests, cap=args.cap, connections=args.connections)
                row.path = name
                rows.append(row)
            # Interleaved rounds, so that a burst of other work on the machine lands on every
            # path alike instead of on whichever happened to run then.
            merged = {name: Result(0, 0.0, []) for name in paths}
            for _ in range(args.rounds):
                for name, port in paths.items():
                    seconds = args.rate_seconds / args.rounds
                    part = asyncio.run(fixed_rate(port, rate=args.rate, seconds=seconds))
                    total = merged[name]
                    total.requests += part.requests
                    total.seconds += part.seconds
                    total.latencies += part.latencies
                    total.errors += part.errors
            fixed = []
            for name, result in merged.items():
                row = _row(result, "python")
                row.path = name
                fixed.append(row)

    if rows[0].tool == "wrk":
        bound = f"{args.cap:g} s"
    else:
        bound = f"at most {args.requests} requests or {args.cap:g} s"
    print(
        f"\nclosed loop: {args.connections} keep-alive connections, {bound} per path "
        f"({os.cpu_count()} CPUs, load from {rows[0].tool}; haproxy {haproxy_version()}; "
        f"load average before/after {before:.2f}/{os.getloadavg()[0]:.2f})\n"
    )
    _table(rows, ratio=True)
    print(
        f"\nfixed rate: {args.rate:g} requests/s for {args.rate_seconds:g} s per path, in "
        f"{args.rounds} interleaved rounds "
        f"(target: added p99 <= 2 ms)\n"
    )
    _table(fixed, ratio=False)


def _table(rows: list[Row], *, ratio: bool) -> None:
    base = rows[0]
    ha = next((r for r in rows if r.path == "haproxy"), None)
    head = (
        f"{'path':<16}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'+p50 ms':>9}{'+p99 ms':>9}{'errors':>8}"
    )
    if ratio:
        head += f"{'vs haproxy':>12}"
    print(head)
    print("-" * len(head))
    for r in rows:
        added = r is not base
        line = (
            f"{r.path:<16}{r.requests:>10}{r.rate:>10.0f}{r.p50 * 1e3:>9.3f}{r.p99 * 1e3:>9.3f}"
            f"{(r.p50 - base.p50) * 1e3 if added else 0:>9.3f}"
            f"{(r.p99 - base.p99) * 1e3 if added else 0:>9.3f}{r.errors:>8}"
        )
        if ratio:
            line += f"{r.rate / ha.rate:>12.2f}" if ha else f"{'n/a':>12}"
        print(line)


if __name__ == "__main__":
    main()
