from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roost._util.processes import pid_alive


def test_a_running_process_is_alive_and_a_gone_one_is_not() -> None:
    assert pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_an_exited_child_nobody_reaped_yet_is_not_alive() -> None:
    """A zombie answers signal 0; `roost down` waiting on it would wait for init to reap it."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        stat = Path(f"/proc/{child.pid}/stat")
        while stat.read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)
        os.kill(child.pid, 0)  # still there for the kernel ...
        assert not pid_alive(child.pid)  # ... but not alive
    finally:
        child.wait()
