"""A throwaway PostgreSQL 15 server that the test session starts on 127.0.0.1.

Used through the fixtures in ``tests/conftest.py``:

* ``postgres_server`` (session): the running :class:`PostgresServer`; ``.url(dbname)``,
  ``.create_database(template=...)``, ``.drop_database(name)``, ``.admin_url``.
* ``postgres_url`` (function): the URL of a fresh, empty database for one test (dropped after).

The server runs from the Debian package's binaries (``/usr/lib/postgresql/15/bin``). When they are
missing and we are root, ``ensure_binaries`` installs ``postgresql-15`` with apt; otherwise the
tests that need PostgreSQL FAIL (never skip: a skipped contract test would read as a pass).
PostgreSQL refuses to run as root, so as root the data directory belongs to the ``postgres``
system user and initdb/pg_ctl run through ``runuser -u postgres --``.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

PG_VERSION = "15"
PG_BIN = Path(f"/usr/lib/postgresql/{PG_VERSION}/bin")
PG_PACKAGE = f"postgresql-{PG_VERSION}"
SUPERUSER = "roost"
HOST = "127.0.0.1"
_TOOLS = ("initdb", "pg_ctl", "postgres")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL could not be found, installed or started; the message says why."""


def _missing_tools() -> list[str]:
    return [tool for tool in _TOOLS if not (PG_BIN / tool).is_file()]


def ensure_binaries() -> None:
    """Make sure PostgreSQL's server binaries exist, installing them with apt as root.

    Every pytest-xdist worker calls this: an exclusive lock on a file in the temporary
    directory makes them take turns (apt-get holds its own lock and fails, not waits), so one
    installs and the others find the binaries in place."""
    if not _missing_tools():
        return
    lock_path = Path(tempfile.gettempdir()) / f"roost-tests-{PG_PACKAGE}.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _install_binaries()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _install_binaries() -> None:
    if not _missing_tools():
        return
    if os.geteuid() != 0:
        raise PostgresUnavailable(
            f"PostgreSQL {PG_VERSION} is not installed ({PG_BIN} lacks "
            f"{', '.join(_missing_tools())}) and this is not root, so it cannot be installed: "
            f"run `sudo apt-get install -y {PG_PACKAGE}`"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", PG_PACKAGE],
    ):
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, check=False, timeout=900
        )
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"`{' '.join(command)}` failed with exit code {result.returncode}:\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
    if _missing_tools():
        raise PostgresUnavailable(
            f"installed {PG_PACKAGE} but {PG_BIN} still lacks {', '.join(_missing_tools())}"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, listening on 127.0.0.1:``port``."""

    def __init__(self) -> None:
        self._as_root = os.geteuid() == 0
        self.base_dir = Path(tempfile.mkdtemp(prefix="roost-pg-"))
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "postgres.log"
        self.port = 0
        self._running = False
        # The postgres user must be able to reach and own the directory; mkdtemp makes 0700.
        self.base_dir.chmod(0o755)
        if self._as_root:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.base_dir, ignore_errors=True)
                raise PostgresUnavailable(
                    "running as root but there is no `postgres` system user to run PostgreSQL "
                    f"as (the Debian package {PG_PACKAGE} creates it)"
                ) from None
            os.chown(self.base_dir, account.pw_uid, account.pw_gid)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(
            command,
            cwd=self.base_dir,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        )

    def start(self) -> None:
        result = self._run(
            "initdb",
            "-D", str(self.data_dir),
            "-A", "trust",
            "-U", SUPERUSER,
            "--no-sync",
            "--no-instructions",
            "--encoding=UTF8",
            "--locale=C",
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed:\n{result.stdout}{result.stderr}")
        # Another process may grab the port between _free_port() and the bind: try a few.
        failures = []
        for _ in range(3):
            self.port = _free_port()
            options = (
                f"-c listen_addresses={HOST} -c port={self.port} "
                f"-c unix_socket_directories={self.base_dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c autovacuum=off"
            )
            result = self._run(
                "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file),
                "-o", options, "-w", "-t", "30", "start",
            )  # fmt: skip
            if result.returncode == 0:
                self._running = True
                self._wait_until_accepting()
                return
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            failures.append(f"{result.stdout}{result.stderr}{log[-2000:]}")
            if "could not bind" not in log and "already in use" not in log:
                break
        raise PostgresUnavailable("PostgreSQL did not start:\n" + "\n---\n".join(failures))

    def _wait_until_accepting(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.admin_dsn, connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PostgresUnavailable(f"PostgreSQL never accepted: {exc}") from exc
                time.sleep(0.05)

    @property
    def admin_dsn(self) -> str:
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname=postgres"

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the maintenance database (do not create tables there)."""
        return self.url("postgres")

    def url(self, database: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of ``database`` on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def create_database(self, name: str | None = None, *, template: str = "template1") -> str:
        """Create a database (a copy of ``template``: empty by default) and return its name.

        ``template`` must have no open connections. FILE_COPY is ~10x faster here than
        PostgreSQL 15's default WAL_LOG strategy, because fsync is off.
        """
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting anything still connected to it."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        try:
            if self._running:
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
                self._running = False
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return f"PostgresServer({HOST}:{self.port}, {state}, {self.base_dir})"


def start_postgres() -> PostgresServer:
    """Find (or install) the binaries and start a fresh server; the caller must ``stop()`` it."""
    ensure_binaries()
    server = PostgresServer()
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
