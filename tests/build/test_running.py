"""Running pipelines for real: a git repository, processes, logs, caches, the artifact."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from tests.build.conftest import Repo

from roost.artifacts import layout_of
from roost.build import BuildError, BuildRequest, BuildResult, run_build
from roost.build import logs as build_logs
from roost.clock import RealClock
from roost.spec import load_project
from roost.store import Store


def _build(repo: Repo, store: Store, *, ref: str = "HEAD", **options: object) -> BuildResult:
    project = load_project(repo.root / "roost.yaml")
    request = BuildRequest(repo.root, project, "web", ref=ref, **options)  # type: ignore[arg-type]
    return run_build(request, store=store, clock=RealClock(), poll=0.01)


def _states(result: BuildResult) -> dict[str, str]:
    return {step.name: step.state for step in result.steps}


def _log(repo: Repo, result: BuildResult, step: str) -> str:
    return build_logs.log_path(repo.root, result.build.id, step).read_text()


def test_a_green_build_packages_the_commit_and_records_everything(repo: Repo, store: Store) -> None:
    sha = repo.pipeline(
        """      substitutions: {GREETING: hello}
      steps:
        - name: test
          run: echo "$GREETING $SHORT_SHA on $BRANCH by $SERVICE in $BUILD_ID" > out.txt
        - name: words
          run: [echo, "commit=$COMMIT_SHA", "$GREETING"]
          env: {LABEL: "v-$SHORT_SHA"}
        - name: env
          run: echo "label=$LABEL"
          env: {LABEL: "v-$SHORT_SHA"}
""",
    )
    (repo.root / "uncommitted.txt").write_text("must not be built")
    result = _build(repo, store)
    assert result.succeeded, result.build.error
    build = result.build
    assert (build.id, build.commit_sha, build.branch, build.trigger) == (
        "web-b1",
        sha,
        "main",
        "manual",
    )
    assert _states(result) == {"test": "succeeded", "words": "succeeded", "env": "succeeded"}
    assert all(step.duration is not None for step in result.steps)
    assert f"commit={sha} hello" in _log(repo, result, "words")
    assert f"label=v-{sha[:7]}" in _log(repo, result, "env")
    layout = layout_of(repo.root)
    assert build.artifact == result.packaged.digest if result.packaged else False
    assert layout.resolve(f"web:{sha[:7]}").digest == build.artifact
    assert layout.resolve("web:latest").digest == build.artifact
    _, manifest = layout.manifest(f"web:{sha[:7]}")
    assert manifest.annotations["org.opencontainers.image.revision"] == sha
    import io
    import tarfile

    app = layout.read_blob(manifest.layers[1].digest)
    with tarfile.open(fileobj=io.BytesIO(app), mode="r:gz") as tar:
        names = set(tar.getnames())
        assert (
            tar.extractfile("out.txt").read().decode()
            == (  # type: ignore[union-attr]
                f"hello {sha[:7]} on main by web in web-b1\n"
            )
        )
    assert "uncommitted.txt" not in names
    assert {"app.py", "roost.yaml", "out.txt"} <= names
    assert not list((repo.root / ".roost" / "builds").glob(".work-*"))  # work folder removed
    events = [e.type for e in store.events.list()]
    assert "dev.roost.build.started" in events
    assert "dev.roost.build.succeeded" in events


def test_independent_steps_run_in_parallel(repo: Repo, store: Store) -> None:
    repo.pipeline(
        """      steps:
        - {name: a, run: sleep 0.6, needs: []}
        - {name: b, run: sleep 0.6, needs: []}
        - {name: c, run: sleep 0.6, needs: []}
        - {name: join, run: "true", needs: [a, b, c]}
"""
    )
    result = _build(repo, store)
    assert result.succeeded
    steps = {s.name: s for s in result.steps}
    # In parallel: each of a, b, c started before any of them ended (their recorded intervals
    # overlap). Run one after another, some step would start only after another ended; how
    # fast the machine is does not enter into it.
    starts = [at for n in "abc" if (at := steps[n].started_at) is not None]
    ends = [at for n in "abc" if (at := steps[n].ended_at) is not None]
    assert len(starts) == len(ends) == 3, steps
    assert max(starts) < min(ends), f"not in parallel: {starts=} {ends=}"
    assert steps["join"].started_at is not None
    assert all(steps["join"].started_at >= steps[n].ended_at for n in "abc")  # type: ignore[operator]


def test_a_failing_step_skips_the_rest_and_shows_its_log(repo: Repo, store: Store) -> None:
    repo.pipeline(
        """      steps:
        - name: test
          run: |
            echo "running 3 tests"
            echo "FAILED test_checkout" >&2
            exit 3
        - {name: slow, run: sleep 30, needs: []}
        - {name: package, run: "true", needs: [test, slow]}
"""
    )
    result = _build(repo, store)
    assert result.build.state == "failed"
    slow = next(s for s in result.steps if s.name == "slow")
    assert slow.duration is not None
    assert slow.duration.total_seconds() < 30  # stopped, not waited for: it sleeps 30 s
    assert result.build.error == "step test failed: exit 3"
    assert result.build.artifact is None
    assert _states(result) == {"test": "failed", "slow": "cancelled", "package": "skipped"}
    assert result.failed_step == "test"
    assert result.log_tail[-2:] == ["running 3 tests", "FAILED test_checkout"]
    assert (
        layout_of(repo.root).entries() == [] if layout_of(repo.root).index_path.exists() else True
    )
    assert store.builds.get(result.build.id).state == "failed"


@pytest.mark.parametrize(
    ("run", "error"),
    [
        ("[no-such-tool, --version]", "step broken: command not found: no-such-tool (not in PATH)"),
        ("no-such-tool --version", "step broken failed: command not found (exit 127)"),
    ],
    ids=["list", "shell"],
)
def test_a_missing_command_fails_clearly(repo: Repo, store: Store, run: str, error: str) -> None:
    repo.pipeline(f"      steps:\n        - name: broken\n          run: {run}\n")
    result = _build(repo, store)
    assert result.build.state == "failed"
    assert result.build.error == error
    assert "no-such-tool" in "\n".join(result.log_tail)


def test_step_and_build_timeouts(repo: Repo, store: Store) -> None:
    repo.pipeline("      steps:\n        - {name: hang, run: sleep 30, timeout: 300ms}\n")
    result = _build(repo, store)
    assert (result.build.state, result.build.error) == (
        "failed",
        "step hang took longer than 300ms",
    )
    assert _states(result) == {"hang": "timed_out"}
    repo.pipeline(
        "      timeout: 400ms\n      steps:\n        - {name: hang, run: sleep 30}\n"
        "        - {name: never, run: 'true'}\n"
    )
    result = _build(repo, store)
    assert (result.build.state, result.build.error) == (
        "timed_out",
        "the build took longer than 400ms",
    )
    assert _states(result) == {"hang": "timed_out", "never": "skipped"}


def test_a_build_is_cancelled_from_outside(repo: Repo, store: Store) -> None:
    repo.pipeline("      steps:\n        - {name: hang, run: sleep 30}\n")

    def cancel_when_running() -> None:
        for _ in range(500):
            running = [b for b in store.builds.list() if not b.finished]
            if running and store.builds.steps(running[0].id)[0].state == "running":
                store.builds.request_cancel(running[0].id)
                return
            time.sleep(0.01)

    canceller = threading.Thread(target=cancel_when_running)
    canceller.start()
    result = _build(repo, store)
    canceller.join()
    assert (result.build.state, result.build.error) == ("cancelled", "cancelled on request")
    assert _states(result) == {"hang": "cancelled"}


def test_a_cached_step_is_restored_instead_of_run(repo: Repo, store: Store) -> None:
    build = """      steps:
        - name: deps
          run: mkdir -p vendor && date +%s%N > vendor/stamp
          cache: {key_files: [requirements.txt], paths: [vendor]}
        - {name: use, run: test -s vendor/stamp}
"""
    repo.pipeline(build, **{"requirements.txt": "flask==3.0\n"})
    first = _build(repo, store)
    second = _build(repo, store)
    assert first.succeeded
    assert second.succeeded
    steps = {s.name: s for s in second.steps}
    assert (steps["deps"].state, steps["deps"].cache_hit) == ("cached", True)
    assert steps["deps"].cache_key == {s.name: s for s in first.steps}["deps"].cache_key
    assert "cache hit" in _log(repo, second, "deps")
    # the restored output went into the artifact: same stamp as the first build's
    layout = layout_of(repo.root)
    assert first.build.artifact == second.build.artifact  # reproducible: same content
    repo.commit({"requirements.txt": "flask==3.1\n"})
    third = _build(repo, store)
    assert {s.name: s.state for s in third.steps}["deps"] == "succeeded"  # key file changed
    assert third.build.artifact != second.build.artifact
    assert layout.resolve("web:latest").digest == third.build.artifact


def test_a_cache_path_that_is_not_produced_fails_the_step(repo: Repo, store: Store) -> None:
    repo.pipeline(
        "      steps:\n        - name: deps\n          run: 'true'\n"
        "          cache: {key_files: [app.py], paths: [vendor]}\n"
    )
    result = _build(repo, store)
    assert result.build.state == "failed"
    assert result.build.error == "step deps did not produce its cached path 'vendor'"


def test_the_pipeline_comes_from_the_commit(repo: Repo, store: Store) -> None:
    old = repo.pipeline("      steps:\n        - {name: old, run: 'true'}\n")
    repo.pipeline("      steps:\n        - {name: new, run: 'true'}\n")
    result = _build(repo, store, ref=old)
    assert [s.name for s in result.steps] == ["old"]
    assert result.build.branch == ""  # a sha names no branch


def test_errors_before_a_build_exists(repo: Repo, store: Store, tmp_path: Path) -> None:
    repo.pipeline("      steps: []\n")
    with pytest.raises(BuildError, match="'nope' is not a commit"):
        _build(repo, store, ref="nope")
    project = load_project(repo.root / "roost.yaml")
    with pytest.raises(BuildError, match="there is no service 'api'"):
        run_build(BuildRequest(repo.root, project, "api"), store=store, clock=RealClock())
    elsewhere = tmp_path / "not-a-repo"
    elsewhere.mkdir()
    with pytest.raises(BuildError, match="is not in a git repository"):
        run_build(BuildRequest(elsewhere, project, "web"), store=store, clock=RealClock())
    assert store.builds.list() == []
