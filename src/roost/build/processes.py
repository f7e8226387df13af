"""Running one build step as a subprocess: its command, environment, log file, and stopping.

Each step runs in its own session (process group), so stopping it stops everything it
started — a test runner's workers, a shell's children — not just the top process. Output goes
straight to the step's log file (the child writes to it; no thread copies bytes), which is what
``roost build logs -f`` follows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import string
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from roost._util.processes import unrunnable, user_umask
from roost.spec.building import BuildStep

SHELL = "/bin/sh"
GRACE_SECONDS = 3.0
COMMAND_NOT_FOUND = 127


@dataclass
class StepProcess:
    """A running step."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def poll(self) -> int | None:
        return self.process.poll()


def expand(text: str, variables: Mapping[str, str]) -> str:
    """``$NAME`` / ``${NAME}`` filled in from ``variables``; unknown names stay as written,
    ``$$`` is a literal ``$``."""
    return string.Template(text).safe_substitute(variables)


def command_of(step: BuildStep, variables: Mapping[str, str]) -> list[str]:
    """The argv of ``step``: a shell script runs under ``sh -e -c`` (the shell expands
    variables itself); a list of words is expanded word by word and run directly."""
    if isinstance(step.run, str):
        return [SHELL, "-e", "-c", step.run]
    return [expand(word, variables) for word in step.run]


def environment_of(
    step: BuildStep, variables: Mapping[str, str], base: Mapping[str, str]
) -> dict[str, str]:
    """``base`` + the build's variables + the step's ``env`` (its values expanded)."""
    env = {**base, **variables}
    env.update({name: expand(value, variables) for name, value in step.env.items()})
    return env


def launch(
    step: BuildStep,
    *,
    cwd: Path,
    variables: Mapping[str, str],
    log: Path,
    base_env: Mapping[str, str] | None = None,
) -> StepProcess | str:
    """Start ``step``; returns the process, or why it cannot start (one line)."""
    env = environment_of(step, variables, os.environ if base_env is None else base_env)
    argv = command_of(step, variables)
    if not cwd.is_dir():
        return f"its folder {step.dir or '.'} does not exist in the commit"
    problem = unrunnable(argv[0], cwd=cwd, path=env.get("PATH"))
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        shown = step.run if isinstance(step.run, str) else " ".join(argv)
        out.write(f"$ {shown}\n".encode())
        if problem is not None:
            out.write(f"roost: {problem}\n".encode())
            return problem
        out.flush()
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=user_umask(),
        )
    return StepProcess(step.name, process, log)


def stop(processes: Iterable[StepProcess], *, grace: float = GRACE_SECONDS) -> dict[str, int]:
    """SIGTERM every step's process group, wait up to ``grace`` seconds, then SIGKILL what is
    left; returns each step's exit code. Every process is reaped."""
    processes = list(processes)
    for step in processes:
        _signal_group(step.process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    codes: dict[str, int] = {}
    for step in processes:
        remaining = max(0.0, deadline - time.monotonic())
        try:
            codes[step.name] = step.process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            _signal_group(step.process, signal.SIGKILL)
            codes[step.name] = step.process.wait()
        # The leader is gone; its group may not be (a child that ignored SIGTERM).
        _signal_group(step.process, signal.SIGKILL)
    return codes


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def describe_exit(code: int, *, shell: bool) -> str:
    """``exit 1``, ``killed by SIGKILL``, ``command not found (exit 127)``."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    if code == COMMAND_NOT_FOUND and shell:
        return f"command not found (exit {code})"
    return f"exit {code}"
