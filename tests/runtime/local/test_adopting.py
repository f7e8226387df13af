import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from roost.runtime import ReplicaState
from roost.runtime.local import LocalRuntime

AGENT = Path(__file__).parents[1] / "agent.py"


def _run_agent_and_kill_it(kit, spec) -> list[dict[str, int]]:
    """Start the revision from a separate agent process, then kill -9 that process."""
    spec_file = kit.tmp_path / "spec.json"
    spec_file.write_text(spec.model_dump_json())
    agent = subprocess.Popen(
        [sys.executable, str(AGENT), str(kit.state_dir), str(spec_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert agent.stdout is not None
        replicas: list[dict[str, int]] = json.loads(agent.stdout.readline())
    finally:
        agent.kill()
        agent.wait()
        if agent.stdout is not None:
            agent.stdout.close()
    return replicas


def test_a_new_runtime_adopts_replicas_that_outlived_their_agent(kit) -> None:
    spec = kit.spec("--tick", "0.1", replicas=2)
    before = _run_agent_and_kill_it(kit, spec)
    pids = [r["pid"] for r in before]
    # The agent is gone; its replicas are not.
    assert all(psutil.pid_exists(pid) for pid in pids)
    log_file = kit.state_dir / "logs" / "web" / "r1" / "replica-0.jsonl"
    size_at_death = log_file.stat().st_size

    # Replica 1 dies while nobody supervises it.
    os.killpg(before[1]["pid"], signal.SIGKILL)

    async def body(runtime: LocalRuntime) -> None:
        # Its shim kept reading: output printed after the agent died is captured.
        await kit.wait_until(lambda: log_file.stat().st_size > size_at_death + 200)
        adopted = await runtime.adopt()
        assert [s.revision for s in adopted] == ["r1"]
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 2, show=runtime.status)
        zero, one = runtime.status()[0].replicas
        assert zero.adopted
        assert (zero.pid, zero.port, zero.restarts) == (pids[0], before[0]["port"], 0)
        assert (await kit.get(before[0]["port"])).text == "hello from replica 0"
        # The dead one was restarted, and how it died was read from its shim's record.
        assert not one.adopted
        assert one.pid != pids[1]
        assert one.restarts == 1
        assert one.last_termination is not None
        assert one.last_termination.signal == "SIGKILL"
        assert (await kit.get(one.port or 0)).text == "hello from replica 1"

        final = await runtime.stop("web", "r1", grace_period=2.0)
        assert {r.state for r in final.replicas} == {ReplicaState.STOPPED}
        # SIGTERM reached the adopted replica through its process group: it exited cleanly.
        assert final.replicas[0].last_termination is not None
        assert final.replicas[0].last_termination.exit_code == 0
        assert not psutil.pid_exists(pids[0]) or psutil.Process(pids[0]).status() == "zombie"

    kit.run(body)


def test_adopt_skips_a_damaged_state_file_and_start_adopts_a_left_over_revision(kit) -> None:
    spec = kit.spec()
    before = _run_agent_and_kill_it(kit, spec)
    damaged = kit.state_dir / "revisions" / "other" / "r9" / "state.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_text("{not json")

    async def body(runtime: LocalRuntime) -> None:
        # start() of the same spec finds the left-over revision and adopts it.
        status = await runtime.start(spec)
        assert status.replicas[0].pid == before[0]["pid"]
        assert status.replicas[0].adopted
        assert await runtime.adopt() == []
        assert len(runtime.adoption_problems) == 1
        assert (
            "damaged" in runtime.adoption_problems[0]
            or "cannot read" in runtime.adoption_problems[0]
        )

    kit.run(body)
