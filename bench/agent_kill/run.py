"""Benchmark: `kill -9` of the agent under a steady load through roost's router.

    .venv/bin/python bench/agent_kill/run.py [--rate 200] [--seconds 10] [--kill-after 3]

`roost up` of examples/hello (two replicas) in a temporary folder, then the same bounded load
(``--rate`` requests/s for ``--seconds``, 8 keep-alive connections, see tests/_load.py) four
times, one row each:

1. **no kill** — the baseline over the same period: what the load loses with nothing broken.
2. **kill -9 agent** — the live agent is killed ``--kill-after`` s into the load; the supervisor
   hands the listening sockets to its reserve agent, which adopts the replicas and accepts.
3. **kill -9 agent, no reserve** — the same with ``ROOST_AGENT_RESERVE=0``: the supervisor
   starts a new agent from cold (imports and all) while the sockets queue connections.
4. **kill -9 agent and supervisor** — what happened before there was a supervisor: nothing
   restarts the agent, every connection after the kill is refused.

Columns: requests sent, failed (refused, reset, or not 200), the first 200 answered after the
kill (seconds after it: "routing is back"), the longest time without any answer, and latency
percentiles of the requests due from the kill on. Goal: row 2 loses at most 1 % and is back
within 2 s. Not a test: it times things, prints a table, and CI never runs it. Numbers depend
on the machine and on what else runs on it; compare rows of the same run only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests._load import LoadResult, run_load  # noqa: E402

HELLO = REPO / "examples" / "hello"


@dataclass
class Row:
    scenario: str
    result: LoadResult
    killed_at: float | None

    def cells(self) -> list[str]:
        result, kill = self.result, self.killed_at
        failed = len(result.failed)
        back = "—"
        since = kill if kill is not None else 0.0
        if kill is not None:
            first = result.first_ok_after(kill)
            back = "never" if first is None else f"{first.done - kill:.2f}"
        return [
            self.scenario,
            str(result.total),
            str(failed),
            f"{100 * failed / max(1, result.total):.2f}",
            back,
            f"{_longest_silence(result):.2f}",
            f"{result.latency(0.5, since=since) * 1000:.1f}",
            f"{result.latency(0.99, since=since) * 1000:.1f}",
        ]


HEADER = [
    "scenario",
    "requests",
    "failed",
    "failed %",
    "back after (s)",
    "longest silence (s)",
    "p50 ms",
    "p99 ms",
]


def _longest_silence(result: LoadResult) -> float:
    """The longest time between two consecutive 200 answers (or from the first request due)."""
    done = sorted(s.done for s in result.samples if s.outcome == "ok")
    if not result.samples:
        return 0.0
    last = result.samples[0].due
    longest = 0.0
    for moment in done:
        longest = max(longest, moment - last)
        last = moment
    end = max(s.done for s in result.samples)
    return max(longest, end - last)


def roost(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "roost", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def _wait(check: object, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.25)
    raise SystemExit(f"bench: timed out waiting for {what}")


def _up(root: Path, *, reserve: bool) -> str:
    env = {} if reserve else {"ROOST_AGENT_RESERVE": "0"}
    up = roost("up", "-p", str(root), env=env)
    if up.returncode != 0:
        raise SystemExit(f"bench: roost up failed: {up.stderr.strip()}")
    agent_dir = root / ".roost" / "agent"

    def ready() -> bool:
        import urllib.request

        from roost._util.agentkeys import AgentKeys

        url = _json(agent_dir / "agent.json")["url"]
        # The agent answers its owner only: the credential comes from its key file.
        request = urllib.request.Request(  # noqa: S310
            f"{url}/v1/state",
            headers={"authorization": AgentKeys.load(agent_dir).authorization()},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            hello = json.load(response)["environments"]["dev"]["services"]["hello"]
        return all(r["ready_replicas"] == r["desired_replicas"] > 0 for r in hello["revisions"])

    _wait(ready, "the replicas")
    if reserve:
        _wait(lambda: _json(agent_dir / "supervisor.json").get("reserve_ready"), "the reserve")
    routes = _json(agent_dir / "routes.json")["environments"]
    assert isinstance(routes, dict)
    return f"http://127.0.0.1:{routes['dev']['listen']['hello']}"


def _measure(
    url: str, args: argparse.Namespace, kill: list[int] | None
) -> tuple[LoadResult, float | None]:
    results: list[LoadResult] = []
    started = threading.Event()
    thread = threading.Thread(
        target=lambda: results.append(
            run_load(url, rate=args.rate, seconds=args.seconds, started=started)
        )
    )
    thread.start()
    started.wait(timeout=10)
    killed_at = None
    if kill:
        time.sleep(args.kill_after)
        killed_at = time.monotonic()
        for pid in kill:
            os.kill(pid, signal.SIGKILL)
    thread.join()
    return results[0], killed_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="Requests per second.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Length of each run.")
    parser.add_argument("--kill-after", type=float, default=3.0, help="Seconds into the load.")
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="roost-bench-agent-kill-") as tmp:
        root = Path(tmp) / "hello"
        shutil.copytree(HELLO, root)
        agent_dir = root / ".roost" / "agent"
        try:
            url = _up(root, reserve=True)
            print("no kill ...", flush=True)
            rows.append(Row("no kill (baseline)", *_measure(url, args, None)))
            print("kill -9 agent ...", flush=True)
            pid = int(str(_json(agent_dir / "agent.json")["pid"]))
            rows.append(Row("kill -9 agent", *_measure(url, args, [pid])))

            roost("down", "-p", str(root))
            url = _up(root, reserve=False)
            print("kill -9 agent, no reserve ...", flush=True)
            pid = int(str(_json(agent_dir / "agent.json")["pid"]))
            rows.append(Row("kill -9 agent, no reserve", *_measure(url, args, [pid])))

            _wait(lambda: _json(agent_dir / "agent.json")["pid"] != pid, "the new agent")
            print("kill -9 agent and supervisor ...", flush=True)
            supervisor = int(str(_json(agent_dir / "supervisor.json")["pid"]))
            pid = int(str(_json(agent_dir / "agent.json")["pid"]))
            rows.append(
                Row("kill -9 agent + supervisor (before)", *_measure(url, args, [supervisor, pid]))
            )
        finally:
            roost("down", "-p", str(root))
    print()
    print(
        f"agent kill -9 under {args.rate:.0f} req/s for {args.seconds:.0f}s "
        f"(kill {args.kill_after:.0f}s in; examples/hello, 2 replicas)"
    )
    widths = [max(len(h), *(len(r.cells()[i]) for r in rows)) for i, h in enumerate(HEADER)]
    print(" | ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row.cells(), widths, strict=True)))


if __name__ == "__main__":
    main()
