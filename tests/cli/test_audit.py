"""`roost audit verify` as a user meets it (issue 13, item 7): intact on an untouched store
(exit 0); after a row is edited, deleted or reordered with the sqlite3 module — as someone with
the database file would — it names the event (exit 1), and `roost doctor` reports the broken
chain. The API serves the head to anchor elsewhere. PostgreSQL: tests/store/test_audit_chain.py."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest
from tests._auth import admin_headers, cli_token
from tests._projects import project_down
from tests._roost import REPO, roost

from roost.api import create_app
from roost.control.workspace import open_workspace
from roost.store import GENESIS, open_store

# Several real `roost` commands per test, on a machine that may be busy.
pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "canary"
    shutil.copytree(REPO / "examples" / "canary", root)
    with open_store(root=root) as store:
        for i in range(4):
            store.events.append(
                "dev.roost.test", source="/test", subject=f"web/{i}", data={"i": i}, actor="ann"
            )
    return root


def _ids(root: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(root / ".roost" / "state.db") as db:
        return [
            (int(seq), str(id_))
            for seq, id_ in db.execute("SELECT seq, id FROM events ORDER BY seq")
        ]


def _sql(root: Path, *statements: str) -> None:
    db = sqlite3.connect(root / ".roost" / "state.db")
    try:
        for statement in statements:
            db.execute(statement)
        db.commit()
    finally:
        db.close()


def _verify(root: Path, *extra: str) -> tuple[int, str]:
    done = roost("audit", "verify", "-p", str(root), *extra)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout + done.stderr


def test_an_untouched_store_verifies(root: Path) -> None:
    code, out = _verify(root)
    assert code == 0, out
    assert "audit chain intact: 4 event(s)" in out
    head = roost("audit", "head", "-p", str(root))
    assert head.returncode == 0, head.stderr
    recorded, count = head.stdout.split()
    assert count == "4"
    assert len(recorded) == 64
    assert recorded != GENESIS
    code, out = _verify(root, "--expect", recorded)
    assert code == 0, out
    assert "the recorded head is in it" in out


def test_an_edited_row_is_named(root: Path) -> None:
    seq, event_id = _ids(root)[1]
    _sql(root, f"UPDATE events SET data = '{{\"i\": 42}}' WHERE seq = {seq}")
    code, out = _verify(root)
    assert code == 1, out
    assert f"event {event_id} (seq {seq}" in out
    assert "was edited" in out
    report = json.loads(roost("audit", "verify", "-p", str(root), "--json").stdout)
    assert report["event_id"] == event_id
    assert report["intact"] is False


def test_a_deleted_row_is_named(root: Path) -> None:
    ids = _ids(root)
    _sql(root, f"DELETE FROM events WHERE seq = {ids[2][0]}")
    code, out = _verify(root)
    assert code == 1, out
    assert f"between seq {ids[1][0]} (event {ids[1][1]}) and event {ids[3][1]}" in out
    assert "was deleted" in out


def test_reordered_rows_are_named(root: Path) -> None:
    (a, _), (b, moved) = _ids(root)[1:3]
    _sql(
        root,
        f"UPDATE events SET seq = -1 WHERE seq = {a}",
        f"UPDATE events SET seq = {a} WHERE seq = {b}",
        f"UPDATE events SET seq = {b} WHERE seq = -1",
    )
    code, out = _verify(root)
    assert code == 1, out
    assert f"event {moved} (seq {a}" in out
    assert "was reordered" in out


def test_a_cut_off_end_is_caught_with_a_recorded_head(root: Path) -> None:
    recorded = roost("audit", "head", "-p", str(root)).stdout.split()[0]
    _sql(root, "DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)")
    code, out = _verify(root, "--expect", recorded)
    assert code == 1, out
    assert f"the recorded head {recorded} is not in the chain" in out
    code, out = _verify(root, "--expect", "nothex")
    assert code == 2, out
    assert "is not a chain hash" in out


def test_the_doctor_reports_a_broken_chain(root: Path) -> None:
    fine = roost("doctor", "-p", str(root))
    assert "audit log: chain intact (4 events)" in fine.stdout, fine.stdout + fine.stderr
    assert "tampered" not in fine.stdout
    seq, event_id = _ids(root)[0]
    _sql(root, f"UPDATE events SET actor = 'mallory' WHERE seq = {seq}")
    sick = roost("doctor", "-p", str(root))
    assert sick.returncode == 1, sick.stdout + sick.stderr
    assert "audit log tampered with:" in sick.stdout
    assert event_id in sick.stdout
    as_json = json.loads(roost("doctor", "-p", str(root), "--json").stdout)
    assert as_json["audit"]["intact"] is False
    assert event_id in as_json["audit"]["problem"]


def test_the_api_exposes_the_head(root: Path) -> None:
    async def call(path: str) -> httpx.Response:
        with open_workspace(root) as ws:
            transport = httpx.ASGITransport(app=create_app(ws))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://roost", headers=admin_headers(ws.store)
            ) as client:
                return await client.get(path)

    head = asyncio.run(call("/api/v1/audit/head"))
    assert head.status_code == 200, head.text
    body = head.json()
    assert body["events"] == 4
    assert body["head"] == roost("audit", "head", "-p", str(root)).stdout.split()[0]
    verified = asyncio.run(call(f"/api/v1/audit/verify?expect={body['head']}"))
    assert verified.json()["intact"] is True
    assert verified.json()["anchored"] is True
    bad = asyncio.run(call("/api/v1/audit/verify?expect=zz"))
    assert bad.status_code == 422


@pytest.mark.timeout(240)
def test_weights_and_stops_record_who_did_them(tmp_path: Path) -> None:
    """Through the real stack: every event a request causes carries the subject of its
    credential — an admin's --as shows as impersonation, a self-declared $ROOST_USER changes
    nothing — and the chain the running control plane wrote verifies."""
    root = tmp_path / "hello"
    shutil.copytree(REPO / "examples" / "hello", root)
    with project_down(root):
        up = roost("up", "-p", str(root), timeout=120)
        assert up.returncode == 0, up.stdout + up.stderr
        with open_store(root=root) as store:
            (owner,) = [t.name for t in store.tokens.list()]
        ann = cli_token(root, "ann", "admin")
        started = roost("start", "hello", "-p", str(root), env=ann, timeout=120)
        assert started.returncode == 0, started.stdout + started.stderr
        moved = roost(
            "weights", "hello", "hello-r1=100", "hello-r2=0", "-p", str(root), "--as", "bob"
        )
        assert moved.returncode == 0, moved.stdout + moved.stderr
        stopped = roost("stop", "hello", "hello-r2", "-p", str(root), env={"ROOST_USER": "cy"})
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        with open_store(root=root) as store:
            actors: dict[str, str | None] = {}
            for event in store.events.list("dev.roost.", limit=1000):  # newest first
                if event.type.startswith(("dev.roost.revision.", "dev.roost.traffic.")):
                    actors.setdefault(event.type, event.actor)
            report = store.events.verify()
        assert actors == {
            "dev.roost.revision.started": "ann",
            "dev.roost.traffic.weights": f"bob (impersonated by {owner})",
            "dev.roost.revision.stopped": owner,
        }
        assert report.intact, report.problem


def test_a_signed_checkpoint_with_a_private_key_file(root: Path) -> None:
    done = roost("audit", "checkpoint", "-p", str(root), "--as", "ops")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 event(s) up to" in done.stdout
    key = root / ".roost" / "audit.key"
    assert key.stat().st_mode & 0o777 == 0o600
    code, out = _verify(root)
    assert code == 0, out
    assert "1 checkpoint(s), signatures checked" in out
    # The key never reaches the database.
    with sqlite3.connect(root / ".roost" / "state.db") as db:
        dump = "\n".join(db.iterdump())
    assert key.read_text().strip() not in dump
    key.rename(root / "elsewhere.key")
    code, out = _verify(root)
    assert code == 0, out
    assert "NOT checked: no key" in out
    code, out = _verify(root, "--key-file", str(root / "elsewhere.key"))
    assert "signatures checked" in out
