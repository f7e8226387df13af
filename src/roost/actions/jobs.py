"""``job``: run a command to completion in the project folder, with a timeout; a newer tick of a
``concurrency: replace`` schedule cancels it (the whole process group is killed, so a shell's
children go too)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time

from roost.actions.protocol import ActionContext, ActionResult
from roost.spec.actions import JobParams

TAIL = 2000
"""How much of the job's output the audit event keeps (the end is where errors are)."""
POLL = 0.05


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Job:
    name = "job"
    params_model = JobParams

    def run(self, context: ActionContext, params: JobParams) -> ActionResult:
        root = context.wiring.ws.root
        env = {**os.environ, "ROOST_ACTOR": context.actor}
        with tempfile.TemporaryFile() as out:
            try:
                process = subprocess.Popen(
                    params.command,
                    cwd=root,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                return ActionResult(
                    False,
                    f"cannot run {params.command[0]!r}: {exc.strerror or exc}",
                    hint="check the command exists in the project folder's PATH",
                )
            # Wall time bounds a real process, not decision logic: the virtual clock does not
            # move while a test waits for a child.
            deadline = time.monotonic() + params.timeout.total_seconds()
            outcome = None
            while process.poll() is None:
                if context.cancel.is_set():
                    _kill(process)
                    outcome = "cancelled (a newer run replaced it)"
                    break
                if time.monotonic() > deadline:
                    _kill(process)
                    outcome = f"timed out after {params.timeout}"
                    break
                time.sleep(POLL)
            out.seek(0, os.SEEK_END)
            size = out.tell()
            out.seek(max(0, size - TAIL))
            tail = out.read().decode(errors="replace")
        code = process.returncode
        data = {"command": params.command, "exit_code": code, "output_tail": tail}
        if outcome is not None:
            return ActionResult(False, f"job {outcome}", data)
        if code != 0:
            return ActionResult(False, f"job exited with {code}", data)
        return ActionResult(True, "job succeeded", data)
