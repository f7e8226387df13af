"""The workload token file: every replica is told where it is ($ROOST_IDENTITY_TOKEN_FILE), the
runtime replaces it atomically (0600, in a 0700 folder), a reader never sees half a token, and
it goes with the revision."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from roost.runtime import RevisionNotFoundError
from roost.runtime.local import LocalRuntime
from roost.runtime.local.layout import RevisionPaths, write_identity_token


def _token(n: int) -> str:
    return f"header{n}.{'p' * 4000}{n}.signature{n}"


def test_replicas_find_the_token_file_and_it_is_replaced_and_removed(kit) -> None:
    spec = kit.spec()

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 1)
        replica = runtime.status()[0].replicas[0]
        assert replica.port is not None
        env = json.loads((await kit.get(replica.port, "/info")).text)["env"]
        token_file = Path(env["ROOST_IDENTITY_TOKEN_FILE"])
        assert not token_file.exists(), "no token before the control plane delivers one"
        runtime.write_identity("web", "r1", _token(1))
        got = await kit.get(replica.port, f"/file?p={token_file}")
        assert got.text == _token(1)
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
        runtime.write_identity("web", "r1", _token(2))
        assert token_file.read_text() == _token(2)
        assert [p.name for p in token_file.parent.iterdir()] == ["token"], "no temp file left"
        with pytest.raises(RevisionNotFoundError):
            runtime.write_identity("web", "r9", _token(3))
        await runtime.stop("web", "r1")
        assert not token_file.exists(), "the token goes with its revision"

    kit.run(body)


def test_a_reader_never_sees_half_a_token(tmp_path: Path) -> None:
    paths = RevisionPaths.of(tmp_path / "s", tmp_path / "l", tmp_path / "r", "web", "r1")
    write_identity_token(paths, _token(0))
    seen: set[str] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add(paths.identity_file.read_text())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(1, 300):
            write_identity_token(paths, _token(n))
    finally:
        done.set()
        reader.join()
    assert seen <= {_token(n) for n in range(300)}, "a torn read"
    assert len(seen) > 1


@pytest.mark.parametrize("bad", ["", "two\nlines", "x" * (16 * 1024 + 1)])
def test_a_bad_token_is_refused_and_the_old_one_stays(tmp_path: Path, bad: str) -> None:
    paths = RevisionPaths.of(tmp_path / "s", tmp_path / "l", tmp_path / "r", "web", "r1")
    write_identity_token(paths, _token(1))
    with pytest.raises(ValueError, match="one line"):
        write_identity_token(paths, bad)
    assert paths.identity_file.read_text() == _token(1)
