"""``roost lease …`` and ``roost lock …`` through Typer's runner, on a project's SQLite store
(no roost.yaml needed) and on etcd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from tests._etcd import EtcdServer
from typer.testing import CliRunner

from roost.cli.leases import lease_app, lock_app
from roost.leases import Locks, SqlLeaseBackend
from roost.store import Store, open_store

app = typer.Typer()
app.add_typer(lease_app, name="lease")
app.add_typer(lock_app, name="lock")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ROOST_DATABASE_URL", "ROOST_LEASE_BACKEND", "ROOST_ETCD_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def project_store(tmp_path: Path) -> Iterator[Store]:
    with open_store(root=tmp_path) as store:
        yield store


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def one_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("roost: error: ")
    return lines[0]


def test_lease_list_and_describe(project_store: Store, tmp_path: Path) -> None:
    backend = SqlLeaseBackend(project_store)
    backend.acquire("roost/control-plane", "serve@host-a/1/ab", duration_seconds=15)
    backend.acquire("node/host-b", "agent", duration_seconds=30)
    code, out, err = cli("lease", "list", "--project", str(tmp_path))
    assert code == 0, err
    assert "leases on sql (2)" in out
    assert "roost/control-plane" in out
    assert "serve@host-a/1/ab" in out
    code, out, err = cli("lease", "describe", "roost/control-plane", "-p", str(tmp_path))
    assert code == 0, err
    assert "holder:        serve@host-a/1/ab" in out
    assert "fencing token: 1" in out
    assert "by the holder's clock" in out
    code, _, err = cli("lease", "describe", "nope", "-p", str(tmp_path))
    assert code == 1
    assert "no lease 'nope'" in one_error(err)


def test_deleting_a_held_lease_warns_and_needs_yes(project_store: Store, tmp_path: Path) -> None:
    backend = SqlLeaseBackend(project_store)
    backend.acquire("roost/control-plane", "serve-a", duration_seconds=15)
    code, _, err = cli("lease", "delete", "roost/control-plane", "-p", str(tmp_path))
    assert code == 2
    assert "warning: lease 'roost/control-plane' is held by 'serve-a'" in err
    assert "a new election" in err
    assert "--yes" in err
    assert backend.get("roost/control-plane") is not None
    code, out, err = cli(
        "lease", "delete", "roost/control-plane", "--yes", "--actor", "ops", "-p", str(tmp_path)
    )
    assert code == 0, err
    assert "a new election follows" in out
    assert backend.get("roost/control-plane") is None
    [event] = project_store.events.list("dev.roost.lease.deleted")
    assert event.actor == "ops"
    assert event.data["holder"] == "serve-a"
    code, _, err = cli("lease", "delete", "roost/control-plane", "-p", str(tmp_path))
    assert code == 1
    assert "no lease" in one_error(err)


def test_lock_list_and_audited_release(project_store: Store, tmp_path: Path) -> None:
    locks = Locks(SqlLeaseBackend(project_store), events=project_store.events)
    locks.acquire("deploy/web/prod", "ci-42", reason="release web-r7", duration_seconds=600)
    code, out, err = cli("lock", "list", "-p", str(tmp_path))
    assert code == 0, err
    assert "locks (1)" in out
    assert "deploy/web/prod" in out
    assert "release web-r7" in out
    code, _, err = cli("lock", "release", "deploy/web/prod", "-p", str(tmp_path))
    assert code == 2  # --reason is required
    code, out, err = cli(
        "lock", "release", "deploy/web/prod", "--reason", "ci-42 died", "--actor", "alice",
        "-p", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    assert "released lock 'deploy/web/prod' held by 'ci-42'" in out
    [event] = project_store.events.list("dev.roost.lock.released")
    assert (event.actor, event.data["reason"], event.data["forced"]) == (
        "alice",
        "ci-42 died",
        True,
    )
    code, _, err = cli("lock", "release", "deploy/web/prod", "-r", "again", "-p", str(tmp_path))
    assert code == 1
    assert "is not held" in one_error(err)


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    code, _, err = cli("lease", "list", "--database-url", "mysql://x/y")
    assert code == 1
    assert "unsupported database URL" in one_error(err)
    code, _, err = cli("lock", "release", "", "-r", "x", "-p", str(tmp_path))
    assert code == 2
    assert "lock name" in one_error(err)
    code, _, err = cli("lock", "release", "x", "-r", " ", "-p", str(tmp_path))
    assert code == 2
    assert "--reason" in one_error(err)


def test_the_cli_reads_etcd_when_configured(
    tmp_path: Path, etcd_server: EtcdServer, etcd_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROOST_LEASE_BACKEND", "etcd")
    monkeypatch.setenv("ROOST_ETCD_URL", etcd_server.url)
    monkeypatch.setenv("ROOST_ETCD_PREFIX", etcd_prefix)
    from roost.leases.etcd import EtcdLeaseBackend

    etcd = EtcdLeaseBackend(etcd_server.url, prefix=etcd_prefix)
    try:
        etcd.acquire("roost/control-plane", "serve-a", duration_seconds=15)
    finally:
        etcd.close()
    code, out, err = cli("lease", "list", "-p", str(tmp_path))
    assert code == 0, err
    assert "leases on etcd (1)" in out
    monkeypatch.setenv("ROOST_ETCD_URL", "http://127.0.0.1:9")
    code, _, err = cli("lease", "list", "-p", str(tmp_path))
    assert code == 1
    assert "cannot list leases: etcd at http://127.0.0.1:9" in one_error(err)
    monkeypatch.delenv("ROOST_ETCD_URL")
    code, _, err = cli("lease", "list", "-p", str(tmp_path))
    assert code == 1
    assert "needs ROOST_ETCD_URL" in one_error(err)


def test_lock_release_records_roost_user_like_every_other_command(
    project_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locks = Locks(SqlLeaseBackend(project_store), events=project_store.events)
    locks.acquire("deploy/web/prod", "ci-43", reason="release web-r8", duration_seconds=600)
    monkeypatch.setenv("ROOST_USER", "dana")
    code, _, err = cli("lock", "release", "deploy/web/prod", "-r", "stuck", "-p", str(tmp_path))
    assert code == 0, err
    [event] = project_store.events.list("dev.roost.lock.released")
    assert event.actor == "dana"
