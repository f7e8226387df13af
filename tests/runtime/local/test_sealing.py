"""Secret values never lie in the runtime's files in plain text: the state file holds them
sealed with a key outside the state directory, secret files live in a private directory in
memory that goes with the revision, and a restarted runtime still restarts replicas with their
secrets."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from roost.runtime.local import LocalRuntime
from roost.runtime.local.persisting import RevisionState, load_state, save_state
from roost.runtime.local.sealing import Sealer, SealError

AGENT = Path(__file__).parents[1] / "agent.py"
SECRET = "pa55-w0rd-sealed-4711"


def _files_containing(root: Path, needle: str) -> list[Path]:
    return [
        path for path in root.rglob("*") if path.is_file() and needle.encode() in path.read_bytes()
    ]


def test_the_state_file_holds_secrets_sealed_and_the_key_lives_elsewhere(kit) -> None:
    spec = kit.spec(secrets={"API_TOKEN": SECRET}, secret_delivery="both")
    key_dir = kit.tmp_path / "keys"
    runtime_dir = kit.tmp_path / "shm"

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 1)
        port = runtime.status()[0].replicas[0].port
        env = json.loads((await kit.get(port, "/info")).text)["env"]
        # The replica got its secret both ways…
        assert env["API_TOKEN"] == SECRET
        secret_file = Path(env["ROOST_SECRETS_DIR"]) / "API_TOKEN"
        assert secret_file.read_text() == SECRET
        assert secret_file.is_relative_to(runtime_dir)
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(secret_file.parent.stat().st_mode) == 0o700
        # …and no file under the state directory holds it in plain text.
        assert _files_containing(kit.state_dir, SECRET) == []
        state_file = kit.state_dir / "revisions" / "web" / "r1" / "state.json"
        data = json.loads(state_file.read_text())
        assert "secrets" not in data["spec"]
        assert data["sealed_secrets"].startswith("aes256gcm:v1:")
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
        (key_file,) = key_dir.iterdir()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
        # Read back with the key, the state is the spec that runs.
        assert load_state(state_file, sealer=Sealer(key_file)).spec == spec

        await runtime.stop("web", "r1", grace_period=1.0)
        # The secret files went with the revision, and the key with the last revision.
        assert not secret_file.exists()
        assert list(key_dir.iterdir()) == []

    kit.run(body, key_file=key_dir / "k.key", runtime_dir=runtime_dir)


def test_a_restarted_runtime_restarts_a_replica_with_its_secret(kit) -> None:
    spec = kit.spec(secrets={"API_TOKEN": SECRET})
    spec_file = kit.tmp_path / "spec.json"
    spec_file.write_text(spec.model_dump_json())
    agent = subprocess.Popen(
        [sys.executable, str(AGENT), str(kit.state_dir), str(spec_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert agent.stdout is not None
        (before,) = json.loads(agent.stdout.readline())
    finally:
        agent.kill()
        agent.wait()
        if agent.stdout is not None:
            agent.stdout.close()
    spec_file.unlink()
    assert _files_containing(kit.state_dir, SECRET) == []

    async def body(runtime: LocalRuntime) -> None:
        (adopted,) = await runtime.adopt()
        assert adopted.replicas[0].pid == before["pid"]
        # The adopted replica dies: the new runtime starts it again, secret included.
        os.killpg(before["pid"], signal.SIGKILL)
        await kit.wait_until(
            lambda: (
                runtime.status()[0].replicas[0].restarts == 1
                and runtime.status()[0].ready_replicas == 1
            ),
            timeout=30,
            show=runtime.status,
        )
        port = runtime.status()[0].replicas[0].port
        env = json.loads((await kit.get(port, "/info")).text)["env"]
        assert env["API_TOKEN"] == SECRET
        assert _files_containing(kit.state_dir, SECRET) == []

    kit.run(body)


def test_a_state_file_of_the_previous_format_is_read_and_rewritten_sealed(kit) -> None:
    spec = kit.spec(secrets={"API_TOKEN": SECRET})
    state_file = kit.state_dir / "revisions" / "web" / "r1" / "state.json"
    state_file.parent.mkdir(parents=True)
    old = {
        "version": 1,
        "spec": json.loads(spec.model_dump_json()),
        "desired_replicas": 0,
        "replicas": [],
    }
    state_file.write_text(json.dumps(old))
    assert _files_containing(kit.state_dir, SECRET) == [state_file]

    async def body(runtime: LocalRuntime) -> None:
        (adopted,) = await runtime.adopt()
        assert adopted.revision == "r1"
        assert _files_containing(kit.state_dir, SECRET) == []
        assert load_state(state_file, sealer=runtime.sealer).spec == spec

    kit.run(body)


def test_a_sealed_blob_opens_only_with_its_key_and_for_its_revision(tmp_path: Path) -> None:
    sealer = Sealer(tmp_path / "keys" / "a.key")
    blob = sealer.seal({"T": SECRET}, context="web/r1")
    assert SECRET not in blob
    assert sealer.unseal(blob, context="web/r1") == {"T": SECRET}
    with pytest.raises(SealError, match="do not open"):
        sealer.unseal(blob, context="web/r2")
    Sealer(tmp_path / "keys" / "b.key").seal({}, context="x")  # makes key b
    with pytest.raises(SealError, match="do not open"):
        Sealer(tmp_path / "keys" / "b.key").unseal(blob, context="web/r1")
    with pytest.raises(SealError, match="missing"):
        Sealer(tmp_path / "keys" / "c.key").unseal(blob, context="web/r1")


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "a.key"
    Sealer(key_file).seal({"T": SECRET}, context="x")
    key_file.chmod(0o644)
    with pytest.raises(SealError, match="may be read by other users"):
        Sealer(key_file).seal({"T": SECRET}, context="x")


def test_an_unsealable_state_file_is_an_adoption_problem_not_a_crash(kit) -> None:
    spec = kit.spec(secrets={"API_TOKEN": SECRET})
    state_file = kit.state_dir / "revisions" / "web" / "r1" / "state.json"
    save_state(
        state_file,
        RevisionState(spec=spec, desired_replicas=0),
        sealer=Sealer(kit.tmp_path / "lost.key"),
    )
    (kit.tmp_path / "lost.key").unlink()

    async def body(runtime: LocalRuntime) -> None:
        assert await runtime.adopt() == []
        (problem,) = runtime.adoption_problems
        assert "cannot unseal its secrets" in problem
        assert SECRET not in problem

    kit.run(body)
