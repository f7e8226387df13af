import asyncio
import contextlib
import socket
import time

import psutil

from roost.clock import RealClock, VirtualClock
from roost.runtime import ProbeSpec, ReplicaState, TerminationReason
from roost.runtime.local import LocalRuntime
from roost.runtime.local.probing import CheckResult, ProbeWorker


def test_startup_probe_holds_back_readiness_and_the_endpoints_callback(kit) -> None:
    spec = kit.spec(
        "--startup-delay",
        "1.0",
        probes={
            "startup": kit.http_probe("/healthz", failure_threshold=100),
            "readiness": kit.http_probe("/ready"),
        },
    )
    seen: list[tuple[float, list[tuple[str, int]]]] = []

    async def body(runtime: LocalRuntime) -> None:
        runtime.on_endpoints_changed(lambda s, r, eps: seen.append((time.monotonic(), eps)))
        began = time.monotonic()
        await runtime.start(spec)
        await asyncio.sleep(0.5)
        replica = runtime.status()[0].replicas[0]
        assert replica.state is ReplicaState.STARTING
        assert not replica.ready
        assert seen == []
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 1)
        assert len(seen) == 1
        when, endpoints = seen[0]
        assert when - began >= 1.0
        assert endpoints == runtime.status()[0].ready_endpoints
        startup = {p.kind: p for p in runtime.status()[0].replicas[0].probes}["startup"]
        assert startup.passing is True

    kit.run(body)


def test_failing_readiness_takes_the_endpoint_away_without_a_restart(kit) -> None:
    spec = kit.spec(probes={"readiness": kit.http_probe("/ready", failure_threshold=2)})
    seen: list[list[tuple[str, int]]] = []

    async def body(runtime: LocalRuntime) -> None:
        runtime.on_endpoints_changed(lambda s, r, eps: seen.append(eps))
        await runtime.start(spec)
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 1)
        replica = runtime.status()[0].replicas[0]
        assert replica.port is not None
        await kit.get(replica.port, "/ctl/unready")
        await kit.wait_until(lambda: seen[-1] == [], what="endpoint removed")
        now = runtime.status()[0].replicas[0]
        assert not now.ready
        assert now.state is ReplicaState.RUNNING
        assert (now.pid, now.restarts) == (replica.pid, 0)
        readiness = now.probes[0]
        assert readiness.passing is False
        assert "503" in readiness.last_message
        await kit.get(replica.port, "/ctl/ready")
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 1)
        assert seen == [[("127.0.0.1", replica.port)], [], [("127.0.0.1", replica.port)]]

    kit.run(body)


def test_failing_liveness_restarts_the_replica(kit) -> None:
    spec = kit.spec(
        probes={
            # Liveness waits for the startup probe: a slow start is not a dead process.
            "startup": kit.http_probe("/healthz", failure_threshold=100),
            "readiness": kit.http_probe("/ready"),
            # A generous timeout: on a loaded machine a slow answer must not count as sick.
            "liveness": kit.http_probe("/healthz", failure_threshold=2, timeout=3),
        }
    )

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 1)
        first = runtime.status()[0].replicas[0]
        assert first.port is not None
        await kit.get(first.port, "/ctl/sick")
        await kit.wait_until(
            lambda: (
                runtime.status()[0].replicas[0].restarts > first.restarts
                and runtime.status()[0].ready_replicas == 1
            ),
            what="a restart",
            show=runtime.status,
        )
        second = runtime.status()[0].replicas[0]
        assert second.pid != first.pid
        ended = second.last_termination
        assert ended is not None
        assert ended.reason is TerminationReason.LIVENESS_FAILED
        assert "500" in ended.message
        # It got SIGTERM first and exited by itself; the tail holds that run's lines only.
        assert ended.log_tail[-1] == "[stdout] got SIGTERM, exiting"
        assert ended.exit_code == 0
        assert sum(line.startswith("[stdout] listening on") for line in ended.log_tail) == 1
        # The restarted replica is healthy again (a new process, a fresh /healthz).
        assert (await kit.get(second.port or 0, "/healthz")).status_code == 200

    kit.run(body)


def test_a_hanging_exec_probe_times_out_and_is_killed(kit) -> None:
    hang = ProbeSpec(exec={"command": ["sleep", "30"]}, timeout=0.3, period=0.1)
    spec = kit.spec(probes={"readiness": hang})

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        await kit.wait_until(
            lambda: any(
                p.consecutive_failures >= 3 for p in runtime.status()[0].replicas[0].probes
            ),
            what="three failed probes",
        )
        replica = runtime.status()[0].replicas[0]
        assert not replica.ready
        assert replica.state is ReplicaState.RUNNING
        probe = replica.probes[0]
        assert probe.passing is False
        assert probe.last_message == "exec sleep 30: timed out after 0.3s"
        # The timed-out probes were killed: no `sleep 30` survives (at most the one running).
        sleeps = [p for p in psutil.Process().children(recursive=True) if p.name() == "sleep"]
        assert len(sleeps) <= 1

    kit.run(body)


def test_an_http_probe_to_a_server_that_never_answers_times_out(kit) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections queue up; nobody ever reads or answers
        probe = ProbeSpec(http={"port": silent.getsockname()[1]}, timeout=0.3, period=0.1)
        spec = kit.spec(probes={"readiness": probe})

        async def body(runtime: LocalRuntime) -> None:
            await runtime.start(spec)
            await kit.wait_until(
                lambda: any(p.passing is False for p in runtime.status()[0].replicas[0].probes)
            )
            replica = runtime.status()[0].replicas[0]
            assert replica.probes[0].last_message.endswith("timed out after 0.3s")
            assert not replica.ready
            assert replica.state is ReplicaState.RUNNING

        kit.run(body)


def test_probe_worker_thresholds_follow_kubernetes() -> None:
    verdicts: list[tuple[str, bool]] = []

    async def on_verdict(kind: str, passing: bool) -> None:
        verdicts.append((kind, passing))

    async def main() -> None:
        spec = ProbeSpec(tcp={}, success_threshold=2, failure_threshold=3)
        worker = ProbeWorker(
            "readiness",
            spec,
            run_check=_never_called,
            clock=VirtualClock(),
            process_started=0.0,
            on_verdict=on_verdict,
        )
        for ok in (True, False, True, True, False, False, True, False, False, False):
            await worker.record(CheckResult(ok, "x"))
        assert verdicts == [("readiness", True), ("readiness", False)]
        assert (worker.failures, worker.successes) == (3, 0)

    asyncio.run(main())


def test_probe_worker_waits_the_initial_delay_from_process_start() -> None:
    clock = VirtualClock()
    checks: list[float] = []

    async def run_check() -> CheckResult:
        checks.append(clock.monotonic())
        if len(checks) == 3:
            raise asyncio.CancelledError
        return CheckResult(True, "ok")

    async def on_verdict(kind: str, passing: bool) -> None:
        pass

    async def main() -> None:
        clock.advance(2.0)  # the process started at 0 and is 2 s old now
        spec = ProbeSpec(tcp={}, initial_delay=5.0, period=10.0)
        worker = ProbeWorker(
            "liveness", spec, run_check, clock=clock, process_started=0.0, on_verdict=on_verdict
        )
        with contextlib.suppress(asyncio.CancelledError):
            await worker.run()
        assert checks == [5.0, 15.0, 25.0]

    asyncio.run(main())


async def _never_called() -> CheckResult:
    raise AssertionError("not used")


def test_real_clock_is_the_default(tmp_path) -> None:
    assert isinstance(LocalRuntime(tmp_path).clock, RealClock)
