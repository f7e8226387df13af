from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from tests.store._db import count_rows, raw_connection

from roost.store import SchemaTooNew, head_revision, open_store
from roost.store.tables import metadata


def test_opening_twice_is_idempotent(empty_store_url: str) -> None:
    with open_store(empty_store_url) as first:
        first.releases.create(
            "web", artifact="a", config={}, secrets={}, schema_requires="", created_by="t"
        )
    with open_store(empty_store_url) as second:
        assert second.schema_revision == head_revision()
        assert [r.id for r in second.releases.list()] == ["web-r1"]
    with raw_connection(empty_store_url) as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    assert versions == [(head_revision(),)]


def test_concurrent_first_opens_migrate_once(empty_store_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def opener() -> None:
        try:
            barrier.wait()
            with open_store(empty_store_url) as store:
                store.events.append("roost.test.opened", source="/test")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count_rows(empty_store_url, "events") == 4
    assert count_rows(empty_store_url, "alembic_version") == 1


def test_two_processes_open_a_fresh_sqlite_file_concurrently(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    script = (
        "import sys; from roost.store import open_store\n"
        "with open_store(sys.argv[1]) as s: s.events.append('roost.test', source='/p')\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr.decode()
    assert count_rows(url, "events") == 2


def test_a_database_from_a_newer_roost_is_refused(empty_store_url: str, backend: str) -> None:
    url = empty_store_url
    if backend == "postgres":  # trust auth ignores the password: check it is redacted
        url = url.replace("roost@", "roost:topsecret@")
    open_store(url).close()
    with raw_connection(url) as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(SchemaTooNew) as caught:
        open_store(url)
    message = str(caught.value)
    assert "was written by a newer roost (schema revision 0999)" in message
    assert f"this roost knows up to {head_revision()}" in message
    assert "upgrade roost" in message
    assert "topsecret" not in message
    assert "upgrade roost" in caught.value.hint


def test_tables_module_matches_the_migrations(empty_store_url: str) -> None:
    open_store(empty_store_url).close()
    with raw_connection(empty_store_url) as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
