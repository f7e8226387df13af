import asyncio

from roost.runtime import ReplicaState, TerminationReason
from roost.runtime.local import LocalRuntime

MIB = 1024 * 1024


def test_a_replica_over_its_memory_limit_is_killed_as_oom(kit) -> None:
    spec = kit.spec(
        "--hog-mb",
        "400",
        memory_limit_bytes=120 * MIB,
        backoff={"initial": 30.0},
        probes={},
    )

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        await kit.wait_until(
            lambda: runtime.status()[0].replicas[0].last_termination is not None,
            what="the hog to be killed",
            show=runtime.status,
        )
        replica = runtime.status()[0].replicas[0]
        assert replica.state is ReplicaState.BACKOFF
        ended = replica.last_termination
        assert ended is not None
        assert ended.reason is TerminationReason.OOM_KILLED
        assert ended.signal == "SIGKILL"
        assert "exceeded the limit of 120 MiB" in ended.message
        assert ended.describe().startswith("OOMKilled (SIGKILL): memory ")

    kit.run(body)


def test_a_replica_within_its_limit_keeps_running(kit) -> None:
    spec = kit.spec("--hog-mb", "20", memory_limit_bytes=200 * MIB)

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 1)
        await asyncio.sleep(0.5)  # several samples of a process holding 20 MiB more
        replica = runtime.status()[0].replicas[0]
        assert replica.last_termination is None
        assert replica.restarts == 0

    kit.run(body)
