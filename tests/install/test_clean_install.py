"""A clean install works: the wheel alone, in an empty venv, runs the real CLI end to end.

The wheel is built from this checkout (``uv build --wheel``) and installed with its declared
dependencies only — no dev group, no extras — into a fresh venv, resolved from the package
index as a user's ``pip install roost`` would be (not from uv.lock, which also pins the dev
tools). Then, through the venv's own ``roost`` script and with the checkout's ``src/`` nowhere on
the path: ``roost up`` of a copy of examples/hello, a request through the router, ``roost
vulndb import`` + ``roost build`` + ``roost scan`` of examples/vulnerable, ``roost down``.

An undeclared import (``packaging`` was one) makes a command fail here with
``ModuleNotFoundError``, which the dev environment hides because its tools bring the module in.
This is a pytest test rather than a Makefile step so that ``make test`` runs it with the rest,
under its own timeout and with the same clean-up of what it started; it is marked slow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tests._roost import REPO, kill_leftovers

OSV = REPO / "tests" / "scan" / "data" / "osv"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _uv() -> str:
    # make setup puts a private uv in .tools/; a developer may have one on PATH instead.
    local = REPO / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("uv is needed to build the wheel: run `make setup`", pytrace=False)
    return found


def _run(args: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 300) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, (
        f"{' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


def _clean_env(home: Path) -> dict[str, str]:
    # Nothing of the dev environment: no venv, no PYTHONPATH, no developer database.
    dropped = (
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONHOME",
        "ROOST_DATABASE_URL",
        "UV_PROJECT_ENVIRONMENT",
    )
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    return {**env, **GIT_ENV, "HOME": str(home), "COLUMNS": "200"}


def _router_url(project: Path) -> str:
    api = json.loads((project / ".roost" / "api.json").read_text())["url"]
    token = (project / ".roost" / "auth" / "token").read_text().strip()
    request = urllib.request.Request(
        f"{api}/api/v1/ps", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["services"]["hello"]["url"])


def _get(url: str) -> dict[str, object]:
    # The replicas may still be warming up right after `roost up`: wait, with a generous limit.
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return dict(json.load(response))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_wheel_alone_runs_the_cli_end_to_end(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    uv = _uv()
    dist = tmp_path / "dist"
    _run([uv, "build", "--wheel", "--out-dir", str(dist), str(REPO)], env=env, cwd=tmp_path)
    (wheel,) = dist.glob("roost-*.whl")
    venv = tmp_path / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env=env, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(
        [uv, "pip", "install", "--quiet", "--python", str(python), str(wheel)],
        env=env,
        cwd=tmp_path,
    )
    installed = _run([uv, "pip", "list", "--python", str(python)], env=env, cwd=tmp_path)
    # The dev group stays out: its tools would mask a missing dependency.
    assert "pytest" not in installed
    assert "mypy" not in installed
    roost = str(venv / "bin" / "roost")
    where = _run([str(python), "-c", "import roost; print(roost.__file__)"], env=env, cwd=tmp_path)
    assert where.strip().startswith(str(venv)), where

    hello = tmp_path / "hello"
    shutil.copytree(REPO / "examples" / "hello", hello, ignore=shutil.ignore_patterns(".roost"))
    vulnerable = tmp_path / "vulnerable"
    shutil.copytree(
        REPO / "examples" / "vulnerable", vulnerable, ignore=shutil.ignore_patterns(".roost")
    )
    (vulnerable / ".gitignore").write_text(".roost/\n")
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", "v1")):
        _run(["git", *args], env=env, cwd=vulnerable)
    try:
        _run([roost, "up", "--project", str(hello)], env=env, cwd=hello, timeout=120)
        answer = _get(_router_url(hello) + "/smoke")
        assert answer["path"] == "/smoke"
        assert str(answer["revision"]).startswith("hello-")

        v = ("--project", str(vulnerable))
        imported = _run([roost, "vulndb", "import", str(OSV), *v], env=env, cwd=vulnerable)
        assert "new" in imported
        built = _run([roost, "build", "web", *v], env=env, cwd=vulnerable, timeout=300)
        assert "scan: 3 vulnerabilities" in built, built
        report = json.loads(
            _run([roost, "scan", "web", *v, "--format", "json"], env=env, cwd=vulnerable)
        )
        assert {f["name"] for f in report["findings"]} == {"urllib3"}

        _run([roost, "down", "--project", str(hello)], env=env, cwd=hello, timeout=120)
        assert not (hello / ".roost" / "api.json").exists()
    finally:
        subprocess.run(
            [roost, "down", "--project", str(hello)],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        kill_leftovers(hello)
