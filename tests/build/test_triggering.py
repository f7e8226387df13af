"""Which commits build which services, and the git post-commit hook that starts them."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest
from tests.build.conftest import PROJECT, Repo

from roost.build import BuildError, install_hook, triggered_services, uninstall_hook
from roost.build.triggering import branch_matches, hooks_dir
from roost.spec import parse_project
from roost.store import Store

TRIGGERED = """      trigger:
        branches: [main, "release/*"]
        paths: ["*.py", "src/**"]
      steps:
        - {name: check, run: python3 -c "print('checked')"}
"""


@pytest.mark.parametrize(
    ("branch", "patterns", "expected"),
    [
        ("main", ["main"], True),
        ("main", ["*"], True),
        ("release/1.0", ["release/*"], True),
        ("release/1.0/hotfix", ["release/*"], False),
        ("release/1.0/hotfix", ["release/**"], True),
        ("feature/x", ["main", "release/*"], False),
        ("", ["*"], False),  # detached HEAD: never triggers
    ],
)
def test_branch_patterns(branch: str, patterns: list[str], expected: bool) -> None:
    assert branch_matches(branch, patterns) is expected


def test_branch_and_path_filters_pick_the_services() -> None:
    project = parse_project(
        PROJECT
        + TRIGGERED
        + "  - name: docs\n    command: x\n    build:\n      trigger: {}\n"
        + "  - name: manual\n    command: x\n    build: {}\n",
        filename="roost.yaml",
    )
    assert triggered_services(project, branch="main", changed=["app.py"]) == ["web", "docs"]
    assert triggered_services(project, branch="main", changed=["README.md"]) == ["docs"]
    assert triggered_services(project, branch="release/2", changed=["src/a/b.txt"]) == [
        "web",
        "docs",
    ]
    assert triggered_services(project, branch="feature/x", changed=["app.py"]) == ["docs"]


def _wait_for_builds(store: Store, count: int, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        builds = store.builds.list()
        if len(builds) >= count and all(b.finished for b in builds):
            for build in builds:  # and wait for the runner processes to exit
                pid = int((build.runner or "x:0").rpartition(":")[2])
                while pid and time.monotonic() < deadline:
                    try:
                        os.kill(pid, 0)
                    except ProcessLookupError:
                        break
                    time.sleep(0.05)
            return
        time.sleep(0.1)
    raise AssertionError(f"expected {count} finished builds, got {store.builds.list()}")


@pytest.mark.timeout(240)
def test_a_commit_on_a_matching_branch_builds_in_the_background(repo: Repo, store: Store) -> None:
    repo.pipeline(TRIGGERED)
    path = install_hook(repo.root)
    assert path == hooks_dir(repo.root) / "post-commit"
    assert os.access(path, os.X_OK)
    sha = repo.commit({"app.py": "print('v2')\n"}, "v2")
    committed = datetime.now(UTC)
    _wait_for_builds(store, 1)
    (build,) = store.builds.list()
    # The commit did not wait for the build: it returned before the build (recorded) ended.
    assert build.ended_at is not None
    assert committed < build.ended_at, (committed, build.ended_at)
    assert (build.commit_sha, build.branch, build.trigger, build.state) == (
        sha,
        "main",
        "hook",
        "succeeded",
    )
    repo.commit({"README.md": "docs only\n"}, "docs")  # no path matches: no build
    repo.git("checkout", "-q", "-b", "feature/x")
    repo.commit({"app.py": "print('v3')\n"}, "feature")  # branch does not match
    log_file = repo.root / ".roost" / "hooks.log"
    deadline = time.monotonic() + 40
    while log_file.read_text().count("building nothing") < 2:
        assert time.monotonic() < deadline, log_file.read_text()
        time.sleep(0.1)
    assert len(store.builds.list()) == 1
    log = log_file.read_text()
    assert f"commit {sha[:7]} on main: 1 changed, building web" in log


def test_installing_respects_a_foreign_hook(repo: Repo) -> None:
    repo.pipeline(TRIGGERED)
    hook = hooks_dir(repo.root) / "post-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\necho mine\n")
    with pytest.raises(BuildError, match="was not written by roost") as caught:
        install_hook(repo.root)
    assert caught.value.hint is not None
    assert "--force" in caught.value.hint
    assert uninstall_hook(repo.root) is None
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    install_hook(repo.root, force=True)
    install_hook(repo.root)  # ours now: reinstalling is fine
    assert uninstall_hook(repo.root) == hook
    assert not hook.exists()
