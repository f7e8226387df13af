"""Done when: a commit in a test repository triggers a build whose artifact lands in the
embedded store with a digest, round-trips through a real registry, becomes a release, and runs
on the local runtime from its own directory and virtual environment."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest
from tests.artifacts._registry import RegistryUnavailable, start_registry
from tests.artifacts._wheels import make_wheel
from tests.build.conftest import Repo

from roost.artifacts import (
    RegistryClient,
    environment_for,
    layout_of,
    materialize,
    parse_registry_ref,
    pull,
    push,
)
from roost.build import install_hook
from roost.runtime import ProbeSpec, RevisionSpec
from roost.runtime.local import LocalRuntime
from roost.store import Store

SERVER = """import http.server, os, greet

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (greet.hello() + " " + open("BUILD_INFO").read().strip()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""

PIPELINE = """      trigger: {branches: [main]}
      on_success: {release: true}
      artifact: {exclude: [tests]}
      steps:
        - {name: compile, run: python3 -m py_compile server.py}
        - {name: stamp, run: echo "built $SHORT_SHA" > BUILD_INFO, needs: []}
"""


def _wait(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


async def _serve(workdir: Path, revision: str, state: Path) -> str:
    runtime = LocalRuntime(state, poll_interval=0.05)
    spec = RevisionSpec(
        service="web",
        revision=revision,
        command=("python3", "server.py"),
        workdir=workdir,
        env=environment_for(workdir),
        probes={"readiness": ProbeSpec.model_validate({"http": {"path": "/"}, "period": 0.1})},
        grace_period=1.0,
    )
    try:
        await runtime.start(spec)
        deadline = time.monotonic() + 30
        while not runtime.status()[0].ready_replicas:
            assert time.monotonic() < deadline, runtime.status()
            await asyncio.sleep(0.05)
        port = runtime.status()[0].replicas[0].port
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/")
        return response.text
    finally:
        for status in runtime.status():
            await runtime.stop(status.service, status.revision, grace_period=0.5)
        await runtime.aclose()


@pytest.mark.timeout(300)
def test_commit_build_registry_release_and_run(repo: Repo, store: Store, tmp_path: Path) -> None:
    make_wheel(repo.root / "wheels", "greet", "1.0", "def hello():\n    return 'greet 1.0'\n")
    repo.pipeline(
        PIPELINE,
        **{
            "server.py": SERVER,
            "requirements.lock": "greet==1.0\n",
            "tests/test_server.py": "",
        },
    )
    install_hook(repo.root)
    sha = repo.commit({"server.py": SERVER + "# v1\n"}, "v1")

    # 1. the commit triggered a build; its artifact is in the embedded store
    def built() -> bool:
        builds = store.builds.list()
        return bool(builds) and builds[0].finished and builds[0].release_id is not None

    _wait(built, "the hook's build and release")
    (build,) = store.builds.list()
    assert (build.commit_sha, build.trigger, build.state) == (sha, "hook", "succeeded")
    assert build.artifact is not None
    layout = layout_of(repo.root)
    assert layout.resolve(f"web:{sha[:7]}").digest == build.artifact
    _, manifest = layout.manifest(build.artifact)
    # 2. it round-trips through a real registry into another machine's store
    try:
        registry = start_registry()
    except RegistryUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    elsewhere = tmp_path / "production-host"
    try:
        target = parse_registry_ref(f"{registry.host}/shop/web:{sha[:7]}")
        with RegistryClient(target.base_url) as client:
            push(layout, f"web:{sha[:7]}", target, client)
            pulled = pull(client, target, layout_of(elsewhere))
    finally:
        registry.stop()
    assert pulled.digest == build.artifact
    for blob in (*manifest.blobs,):
        assert layout_of(elsewhere).read_blob(blob.digest) == layout.read_blob(blob.digest)
    # 3. it became a release pointing at the artifact
    assert build.release_id is not None
    release = store.releases.get(build.release_id)
    assert release.artifact == f"oci:{build.artifact}"
    # 4. it runs on the local runtime from its own directory and venv
    workdir = materialize(build.artifact, root=elsewhere)
    assert not (workdir / "tests").exists()  # excluded from the artifact
    text = asyncio.run(_serve(workdir, release.id, tmp_path / "runtime"))
    assert text == f"greet 1.0 built {sha[:7]}"
    # the hook's runner processes are gone
    runner_pid = int((build.runner or "x:0").rpartition(":")[2])
    _wait(lambda: not _alive(runner_pid), "the hook's roost process to exit")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
