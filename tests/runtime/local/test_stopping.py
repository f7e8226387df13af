import asyncio
import time

import psutil

from roost.runtime import ReplicaState, RevisionSpec, TerminationReason
from roost.runtime.local import LocalRuntime

DEFAULT_GRACE = RevisionSpec.model_fields["grace_period"].default


def test_stop_drains_then_sends_sigterm(kit) -> None:
    events: list[str] = []
    spec = kit.spec(replicas=2, probes={"readiness": kit.http_probe("/ready")})

    def on_endpoints(service: str, revision: str, endpoints: list[tuple[str, int]]) -> None:
        events.append(f"endpoints {len(endpoints)}")

    async def body(runtime: LocalRuntime) -> None:
        runtime.on_endpoints_changed(on_endpoints)

        async def before_stop(
            service: str, revision: str, endpoints: list[tuple[str, int]]
        ) -> None:
            # Still running while the router drains: SIGTERM has not been sent yet.
            for _, port in endpoints:
                assert (await kit.get(port)).status_code == 200
            events.append(f"before_stop {service}/{revision} {len(endpoints)}")

        runtime.on_before_stop(before_stop)
        await runtime.start(spec)
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 2)
        pids = [r.pid for r in runtime.status()[0].replicas]
        await runtime.stop("web", "r1")
        assert events[-2:] == ["endpoints 0", "before_stop web/r1 2"]
        assert runtime.status() == []
        assert not any(psutil.pid_exists(pid) for pid in pids if pid)
        assert not (kit.state_dir / "revisions" / "web").exists()
        lines = [entry.line async for entry in runtime.logs("web")]
        assert lines.count("got SIGTERM, exiting") == 2

    kit.run(body)


def test_a_replica_ignoring_sigterm_is_killed_after_the_grace_period(kit) -> None:
    spec = kit.spec("--ignore-sigterm", grace_period=0.7)

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 1)
        began = time.monotonic()
        final = await runtime.stop("web", "r1")
        took = time.monotonic() - began
        # Not killed before its 0.7 s grace; killed well before the 30 s default grace (the
        # margin is for a loaded machine: this only proves the configured grace was used).
        assert 0.7 <= took < DEFAULT_GRACE / 2, took
        replica = final.replicas[0]
        assert replica.state is ReplicaState.STOPPED
        ended = replica.last_termination
        assert ended is not None
        assert ended.reason is TerminationReason.STOPPED
        assert ended.signal == "SIGKILL"
        assert "[stdout] ignoring SIGTERM" in ended.log_tail

    kit.run(body)


def test_a_slow_before_stop_hook_is_cut_at_the_grace_period(kit) -> None:
    spec = kit.spec(grace_period=0.5)

    async def body(runtime: LocalRuntime) -> None:
        async def stuck(service: str, revision: str, endpoints: list[tuple[str, int]]) -> None:
            await asyncio.sleep(60)

        runtime.on_before_stop(stuck)
        await runtime.start(spec)
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 1)
        began = time.monotonic()
        await runtime.stop("web", "r1")
        # 0.5 s of hook, then at least the minimum SIGTERM grace; the workload exits at once.
        # The hook alone would take 60 s: half of that leaves a loaded machine ample margin.
        assert time.monotonic() - began < 30

    kit.run(body)
