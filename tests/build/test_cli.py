"""``roost build``, ``roost builds``, ``roost build logs|show|cancel`` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from tests.build.conftest import Cli, Repo

from roost.store import open_store

GREEN = """      on_success: {release: true}
      steps:
        - name: test
          run: echo "tests pass at $SHORT_SHA"
        - name: wheels
          run: mkdir -p wheels && echo w > wheels/marker
          needs: []
          cache: {key_files: [requirements.lock], paths: [wheels]}
"""


def test_a_green_build_then_its_history_logs_and_release(repo: Repo, cli: Cli) -> None:
    sha = repo.pipeline(GREEN, **{"requirements.lock": "\n"})
    first = cli("build", "web", "--project", str(repo.root))
    assert first.returncode == 0, first.stderr
    assert "build web-b1 succeeded" in first.stdout
    assert "release web-r1" in first.stdout
    second = cli("build", "--project", str(repo.root))  # every service with a pipeline
    assert second.returncode == 0, second.stderr
    assert "2 steps, 1 cached" in second.stdout
    history = cli("builds", "--project", str(repo.root))
    assert history.returncode == 0, history.stderr
    for text in ("web-b1", "web-b2", sha[:7], "succeeded", "(1 cached)", "web-r1"):
        assert text in history.stdout
    # The same commit built again is the same artifact and config: the same release, not web-r2.
    assert "web-r2" not in history.stdout
    logs = cli("build", "logs", "web-b1", "test", "--project", str(repo.root))
    assert logs.returncode == 0, logs.stderr
    assert f"tests pass at {sha[:7]}" in logs.stdout
    shown = cli("build", "show", "web", "--project", str(repo.root))  # the latest
    assert shown.returncode == 0, shown.stderr
    assert "build web-b2" in shown.stdout
    assert "hit" in shown.stdout
    with open_store(f"sqlite:///{repo.root / '.roost' / 'state.db'}") as store:
        release = store.releases.get("web-r1")
        build = store.builds.get("web-b1")
        rebuilt = store.builds.get("web-b2")
        releases = [r.id for r in store.releases.list("web")]
    assert release.artifact == f"oci:{build.artifact}"
    assert build.release_id == "web-r1"
    assert (rebuilt.artifact, rebuilt.release_id) == (build.artifact, "web-r1")
    assert releases == ["web-r1"]  # one release per (service, artifact digest, config)
    assert release.config["workdir"] is None  # the code is the artifact


def test_a_failing_build_shows_the_log_tail_and_exits_1(repo: Repo, cli: Cli) -> None:
    repo.pipeline(
        "      steps:\n        - name: test\n          run: |\n"
        "            echo 'collected 3 items'\n            echo 'AssertionError: 2 != 3' >&2\n"
        "            exit 1\n        - {name: package, run: 'true'}\n"
    )
    result = cli("build", "web", "--project", str(repo.root))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "--- last lines of test.log ---" in result.stderr
    assert "AssertionError: 2 != 3" in result.stderr
    assert "roost: error: build web-b1 failed after" in result.stderr
    assert "step test failed: exit 1" in result.stderr
    shown = cli("build", "show", "web-b1", "--project", str(repo.root))
    assert "skipped" in shown.stdout


@pytest.mark.parametrize(
    ("build", "args", "code", "message"),
    [
        (
            "      steps:\n        - {name: a, run: x, needs: [b]}\n        - {name: b, run: x}\n",
            ("web",),
            2,
            "roost.yaml:9:37: services[0].build.steps[0].needs[0]: steps need each other in a "
            "loop: a → b → a",
        ),
        ("      steps: []\n", ("api",), 1, "roost: error: there is no service 'api'"),
        ("      steps: []\n", ("web", "--ref", "v9"), 1, "roost: error: 'v9' is not a commit"),
    ],
    ids=["cycle", "unknown-service", "unknown-ref"],
)
def test_bad_input_is_one_clear_line(
    repo: Repo, cli: Cli, build: str, args: tuple[str, ...], code: int, message: str
) -> None:
    repo.pipeline(build)
    result = cli("build", *args, "--project", str(repo.root))
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cancel_and_follow_a_running_build(repo: Repo, cli: Cli) -> None:
    repo.pipeline(
        "      steps:\n        - name: slow\n"
        "          run: for i in $(seq 1 120); do echo tick $i; sleep 0.5; done\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ROOST_DATABASE_URL"}
    builder = subprocess.Popen(
        [sys.executable, "-m", "roost", "build", "web", "--project", str(repo.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    follower: subprocess.Popen[str] | None = None
    try:
        log = repo.root / ".roost" / "builds" / "web-b1" / "logs" / "slow.log"
        deadline = time.monotonic() + 30
        while "tick 1" not in (log.read_text() if log.exists() else ""):
            assert builder.poll() is None, builder.communicate()
            assert time.monotonic() < deadline, "the build did not start"
            time.sleep(0.05)
        follower = subprocess.Popen(
            [sys.executable, "-m", "roost", "build", "logs", "web-b1", "-f", "--project",
             str(repo.root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        while "tick 2" not in log.read_text():
            assert time.monotonic() < deadline, "the build stalled"
            time.sleep(0.05)
        cancel = cli("build", "cancel", "web-b1", "--project", str(repo.root))
        assert cancel.returncode == 0, cancel.stderr
        assert "cancel requested for web-b1" in cancel.stdout
        _, err = builder.communicate(timeout=30)
        followed, _ = follower.communicate(timeout=30)  # it stops by itself
    finally:
        for process in (builder, follower):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    assert builder.returncode == 1
    assert "build web-b1 cancelled" in err
    assert "cancelled on request" in err
    assert "tick 1" in followed  # -f printed the log and stopped when the build ended
    again = cli("build", "cancel", "web-b1", "--project", str(repo.root))
    assert again.returncode == 1
    assert "already finished (cancelled)" in again.stderr
