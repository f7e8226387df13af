"""A throwaway git repository holding a roost project, for build tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from roost.clock import RealClock
from roost.store import Store, open_store

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}

PROJECT = """project: shop
version: 1
environments: {dev: {}}
services:
  - name: web
    command: python3 app.py
    build:
"""


class Repo:
    """A git repository in ``root``; ``commit`` writes files and commits them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, **GIT_ENV, "HOME": str(root.parent)}
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        (root / ".gitignore").write_text(".roost/\n")  # roost's state is never committed

    def git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return result.stdout.strip()

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, content in files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def pipeline(self, build: str, **files: str) -> str:
        """Commit a roost.yaml whose ``web`` service has ``build`` (indented YAML) and files."""
        return self.commit({"roost.yaml": PROJECT + build, "app.py": "print('hi')\n", **files})


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    return Repo(tmp_path / "shop")


@pytest.fixture
def store(repo: Repo) -> Iterator[Store]:
    with open_store(f"sqlite:///{repo.root / '.roost' / 'state.db'}", clock=RealClock()) as opened:
        yield opened


class Cli:
    """Runs ``roost`` commands in this process (the same Typer app the entry point runs):
    a subprocess per command would spend seconds importing roost each time."""

    def __call__(self, *args: str) -> Result:
        from typer.testing import CliRunner

        from roost.cli.app import app

        runner = CliRunner()
        outcome = runner.invoke(app, list(args), env={"COLUMNS": "200"}, catch_exceptions=False)
        return Result(outcome.exit_code, outcome.stdout, outcome.stderr)


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli() -> Cli:
    return Cli()
