import json
import stat
from pathlib import Path

import pytest

from roost.runtime import ConfigFile, ReplicaState, RevisionConflictError, Runtime
from roost.runtime.local import LocalRuntime


def test_local_runtime_satisfies_the_protocol(tmp_path: Path) -> None:
    assert isinstance(LocalRuntime(tmp_path), Runtime)


def test_two_replicas_each_serve_on_their_own_port_with_env_config_and_secrets(kit) -> None:
    spec = kit.spec(
        replicas=2,
        env={"GREETING": "hi"},
        config_files=[ConfigFile(path="conf/app.toml", content=b"answer = 42\n")],
        secrets={"API_TOKEN": "s3cr3t"},
        secret_delivery="both",
        probes={"readiness": kit.http_probe("/ready")},
    )
    changes: list[tuple[str, str, list[tuple[str, int]]]] = []

    async def body(runtime: LocalRuntime) -> None:
        runtime.on_endpoints_changed(lambda s, r, eps: changes.append((s, r, eps)))
        status = await runtime.start(spec)
        assert status.desired_replicas == 2
        await kit.wait_until(
            lambda: runtime.status()[0].ready_replicas == 2, what="two ready replicas"
        )
        replicas = runtime.status()[0].replicas
        ports = {r.port for r in replicas}
        assert len(ports) == 2
        for replica in replicas:
            assert replica.state is ReplicaState.RUNNING
            assert replica.port is not None
            hello = await kit.get(replica.port, "/")
            assert hello.text == f"hello from replica {replica.index}"
            info = json.loads((await kit.get(replica.port, "/info")).text)
            env = info["env"]
            assert info["pid"] == replica.pid
            assert env["PORT"] == str(replica.port)
            assert env["ROOST_SERVICE"] == "web"
            assert env["ROOST_REVISION"] == "r1"
            assert env["ROOST_REPLICA"] == str(replica.index)
            assert env["GREETING"] == "hi"
            assert env["API_TOKEN"] == "s3cr3t"
            assert info["cwd"] == str(kit.tmp_path)
            config = Path(env["ROOST_CONFIG_DIR"]) / "conf" / "app.toml"
            assert (await kit.get(replica.port, f"/file?p={config}")).text == "answer = 42\n"
            secret = Path(env["ROOST_SECRETS_DIR"]) / "API_TOKEN"
            assert (await kit.get(replica.port, f"/file?p={secret}")).text == "s3cr3t"
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        # The callback saw the endpoints appear, and its last word is both of them.
        assert changes[-1] == ("web", "r1", runtime.status()[0].ready_endpoints)
        assert sorted(p for _, p in changes[-1][2]) == sorted(ports)
        # The state file holds secrets: owner-only.
        state_file = kit.state_dir / "revisions" / "web" / "r1" / "state.json"
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600

    kit.run(body)


def test_starting_the_same_spec_again_is_a_no_op_and_a_different_one_conflicts(kit) -> None:
    spec = kit.spec()

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 1)
        pid = runtime.status()[0].replicas[0].pid
        again = await runtime.start(spec)
        assert again.replicas[0].pid == pid
        with pytest.raises(RevisionConflictError, match="already running with a different spec"):
            await runtime.start(kit.spec("--tick", "1"))

    kit.run(body)


def test_scale_up_and_down(kit) -> None:
    stopped: list[list[tuple[str, int]]] = []

    async def before_stop(service: str, revision: str, endpoints: list[tuple[str, int]]) -> None:
        stopped.append(endpoints)

    async def body(runtime: LocalRuntime) -> None:
        runtime.on_before_stop(before_stop)
        await runtime.start(kit.spec(replicas=1))
        await runtime.scale("web", "r1", 3)
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 3)
        gone = runtime.status()[0].replicas[2]
        status = await runtime.scale("web", "r1", 1)
        assert [r.index for r in status.replicas] == [0]
        assert len(stopped) == 1
        assert gone.endpoint in stopped[0]
        assert len(stopped[0]) == 2

    kit.run(body)
