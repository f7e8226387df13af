import re
import socket

from roost.runtime import ReplicaState, TerminationReason
from roost.runtime.local import LocalRuntime


def test_a_crashing_replica_backs_off_with_growing_delays(kit) -> None:
    spec = kit.spec("--exit-after", "0.05", "--exit-code", "3", "--eprint", "boom: config invalid")
    delays: list[float] = []

    def record_delay(runtime: LocalRuntime) -> bool:
        replica = runtime.status()[0].replicas[0]
        match = re.match(r"back-off ([\d.]+)s", replica.message)
        if replica.state is ReplicaState.BACKOFF and match:
            delay = float(match.group(1))
            if len(delays) <= replica.restarts:
                delays.append(delay)
        return len(delays) >= 4

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        await kit.wait_until(lambda: record_delay(runtime), timeout=20, what="four back-offs")
        assert delays[:4] == [0.2, 0.4, 0.8, 1.6]
        status = runtime.status()[0]
        assert status.phase == "Degraded"
        replica = status.replicas[0]
        assert replica.state is ReplicaState.BACKOFF
        assert replica.restarts == 3
        assert replica.next_restart_at is not None
        ended = replica.last_termination
        assert ended is not None
        assert ended.reason is TerminationReason.ERROR
        assert ended.exit_code == 3
        assert "[stderr] boom: config invalid" in ended.log_tail
        assert "[stdout] exiting with code 3" in ended.log_tail
        assert ended.describe().startswith("Error (exit code 3)")

    kit.run(body)


def test_command_not_found_fails_that_revision_only(kit) -> None:
    broken = kit.spec(revision="broken", command=["no-such-command-xyz", "--serve"])
    missing_workdir = kit.spec(revision="nowhere", workdir=kit.tmp_path / "missing")
    healthy = kit.spec(revision="good")

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(broken)
        await runtime.start(missing_workdir)
        await runtime.start(healthy)
        await kit.wait_until(
            lambda: (
                {s.revision: s.phase for s in runtime.status()}
                == {"broken": "Failed", "nowhere": "Failed", "good": "Available"}
            ),
            what="one good and two failed revisions",
        )
        by_revision = {s.revision: s.replicas[0] for s in runtime.status()}
        assert by_revision["broken"].state is ReplicaState.FAILED
        assert (
            by_revision["broken"].message == "command not found: no-such-command-xyz (not in PATH)"
        )
        assert by_revision["broken"].pid is None
        assert (
            by_revision["nowhere"].message == f"workdir does not exist: {kit.tmp_path / 'missing'}"
        )
        good = by_revision["good"]
        await kit.wait_until(lambda: runtime.status("web")[1].ready_replicas == 1)
        assert (await kit.get(good.port or 0)).status_code == 200

    kit.run(body)


def test_a_taken_fixed_port_is_a_clear_status_and_retried(kit) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        spec = kit.spec(port=port)

        async def body(runtime: LocalRuntime) -> None:
            await runtime.start(spec)
            await kit.wait_until(
                lambda: runtime.status()[0].replicas[0].state is ReplicaState.BACKOFF
            )
            replica = runtime.status()[0].replicas[0]
            assert f"port {port} on 127.0.0.1 is already in use" in replica.message
            assert replica.pid is None

        kit.run(body)


def test_a_replica_exiting_cleanly_is_not_restarted_under_on_failure(kit) -> None:
    spec = kit.spec("--exit-after", "0", "--exit-code", "0", restart_policy="on_failure")

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        await kit.wait_until(lambda: runtime.status()[0].replicas[0].state is ReplicaState.STOPPED)
        replica = runtime.status()[0].replicas[0]
        assert replica.restarts == 0
        assert replica.last_termination is not None
        assert replica.last_termination.reason is TerminationReason.COMPLETED

    kit.run(body)
