"""``-o json|yaml`` of the bus, secrets, schedules, quarantines, identity, token and role
commands, in this process against a temporary project and store (no ``roost up``): each prints
JSON that validates against its shape in roost.cli._shapes, YAML says the same, secret values
never appear, and the bus commands' ``--json`` is ``-o json``. The API-backed commands are given
the API's documents (as its routes build them) in place of a running control plane."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from roost.cli._shapes import SHAPES
from roost.cli.app import app

PROJECT = """\
project: shapes
version: 1
environments:
  dev: {}
  production: {}
services:
  - name: web
    command: python3 app.py
    secrets:
      - name: DB_PASSWORD
        from: roost:db_password
schedules:
  nightly-stop:
    cron: "0 20 * * MON-FRI"
    timezone: Europe/London
    dst: {gap: skip, overlap: once}
    action: stop-environment
    params: {environment: dev}
triggers:
  - name: page
    filters: [{prefix: {type: dev.roost.}}]
    webhook: {url: "http://127.0.0.1:9/hook"}
"""
VALUE = "pw-7c41d2e9a0b35f86"
DIGEST = "sha256:" + "ab" * 32

# The commands this file covers (the rest are checked against a running project).
OFFLINE = {
    "events dlq list",
    "events dlq show",
    "events trace",
    "events triggers",
    "secret list",
    "secret versions",
    "schedule list",
    "schedule next",
    "schedule runs",
    "artifacts quarantined",
    "identity keys",
    "token list",
    "role list",
}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ROOST_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.delenv("ROOST_DATABASE_URL", raising=False)
    project = tmp_path / "project"
    project.mkdir()
    (project / "roost.yaml").write_text(PROJECT)
    return project


def _invoke(*args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(
        app, list(args), input=stdin, env={"COLUMNS": "200"}, catch_exceptions=False
    )
    assert result.exit_code == 0, f"roost {' '.join(args)}: {result.stdout} {result.stderr}"
    return result.stdout


def _shaped(command: str, *args: str) -> dict[str, Any]:
    """``roost COMMAND ARGS -o json`` validated against its shape; -o yaml says the same."""
    as_json = json.loads(_invoke(*command.split(), *args, "-o", "json"))
    SHAPES[command].model_validate(as_json)
    as_yaml = yaml.safe_load(_invoke(*command.split(), *args, "-o", "yaml"))
    SHAPES[command].model_validate(as_yaml)
    assert as_yaml == as_json
    return as_json  # type: ignore[no-any-return]


def test_this_file_covers_every_new_shape() -> None:
    assert set(SHAPES) >= OFFLINE


def test_secret_list_and_versions_show_digests_never_values(root: Path) -> None:
    p = ("-p", str(root))
    _invoke("secret", "set", "db_password", *p, stdin=VALUE + "\n")
    _invoke("secret", "set", "db_password", "--env", "production", *p, stdin=VALUE + "2\n")
    listed = _shaped("secret list", *p)
    (item,) = listed["items"]
    assert listed["kind"] == "SecretList"
    assert (item["name"], item["latest_version"], item["versions"]) == ("db_password", 2, 2)
    assert item["environments"] == ["*", "production"]
    versions = _shaped("secret versions", "db_password", *p)
    assert [v["version"] for v in versions["items"]] == [2, 1]
    assert [v["environment"] for v in versions["items"]] == ["production", "*"]
    assert versions["items"][0]["digest"] == item["latest_digest"]
    for command in (("secret", "list"), ("secret", "versions", "db_password")):
        for fmt in ("json", "yaml"):
            assert VALUE not in _invoke(*command, *p, "-o", fmt)


def test_schedule_list_next_and_runs(root: Path) -> None:
    from datetime import UTC, datetime

    from roost.control.workspace import open_workspace

    p = ("-p", str(root))
    listed = _shaped("schedule list", *p)
    (item,) = listed["items"]
    assert (item["name"], item["timezone"]) == ("nightly-stop", "Europe/London")
    assert item["next_at"].endswith("+00:00")
    assert datetime.fromisoformat(item["next_at"]) == datetime.fromisoformat(item["next_at_zone"])
    upcoming = _shaped("schedule next", "nightly-stop", "-n", "3", *p)
    assert upcoming["items"][0]["at"] == item["next_at"]
    assert len(upcoming["items"]) == 3
    assert _shaped("schedule runs", *p)["items"] == []
    with open_workspace(root) as ws:
        ws.store.schedule_runs.claim(
            "nightly-stop", datetime(2026, 3, 2, 20, tzinfo=UTC), claimed_by="test"
        )
    (run,) = _shaped("schedule runs", *p)["items"]
    assert (run["schedule"], run["status"], run["claimed_by"]) == (
        "nightly-stop",
        "running",
        "test",
    )
    assert run["scheduled_at"] == "2026-03-02T20:00:00+00:00"


def test_artifacts_quarantined(root: Path) -> None:
    p = ("-p", str(root))
    assert _shaped("artifacts quarantined", *p)["items"] == []
    _invoke("artifacts", "quarantine", DIGEST, "--reason", "CVE-2026-0001", *p)
    (item,) = _shaped("artifacts quarantined", *p)["items"]
    assert (item["digest"], item["reason"]) == (DIGEST, "CVE-2026-0001")


def test_identity_keys(root: Path) -> None:
    p = ("-p", str(root))
    _invoke("identity", "rotate-key", "--immediately", *p)
    (key,) = _shaped("identity keys", *p)["items"]
    assert key["state"] == "active"
    assert key["retired_at"] is None


# The API's documents, as its routes build them (src/roost/api/routes).
DELIVERY = {
    "id": "d-1",
    "trigger": "page",
    "event_id": "e-1",
    "event_type": "dev.roost.rollout.failed",
    "state": "dead",
    "attempts": 3,
    "created_at": "2026-03-02T20:00:00+00:00",
    "updated_at": "2026-03-02T20:01:00+00:00",
    "last_error": "HTTP 503",
    "correlation_id": "c-1",
}
ATTEMPT = {
    "attempt": 1,
    "at": "2026-03-02T20:00:00+00:00",
    "ok": False,
    "status": 503,
    "duration_ms": 12.5,
    "detail": "HTTP 503",
}
EVENT = {"id": "e-1", "type": "dev.roost.rollout.failed", "subject": "web", "source": "roost",
         "time": "2026-03-02T20:00:00+00:00", "actor": "ci"}  # fmt: skip
API: dict[str, Any] = {
    "/api/v1/events/dlq": {"deliveries": [DELIVERY]},
    "/api/v1/events/dlq/d-1": {
        **DELIVERY,
        "event": {"specversion": "1.0"},
        "attempt_log": [ATTEMPT],
    },
    "/api/v1/events/trace/e-1": {
        "correlation_id": "c-1",
        "root": {
            "event": EVENT,
            "asked": True,
            "caused": [],
            "deliveries": [
                {
                    "id": "d-1",
                    "trigger": "page",
                    "state": "dead",
                    "depth": 0,
                    "error": "HTTP 503",
                    "attempts": [ATTEMPT],
                    "caused": [],
                }
            ],
        },
    },
    "/api/v1/events/triggers": {
        "triggers": [
            {
                "name": "page",
                "sink": "webhook",
                "suspended": False,
                "reason": None,
                "deliveries": {"dead": 1},
            }
        ]
    },
    "/api/v1/auth/tokens": [
        {
            "name": "ci",
            "roles": [{"role": "deployer", "environment": "dev", "service": "*"}],
            "created_at": "2026-03-02T20:00:00+00:00",
            "created_by": "owner",
            "expires_at": None,
            "last_used_at": None,
            "revoked_at": None,
        }
    ],
    "/api/v1/auth/roles": [
        {
            "subject": "ci",
            "role": "deployer",
            "environment": "dev",
            "service": "*",
            "created_by": "owner",
            "created_at": "2026-03-02T20:00:00+00:00",
        }
    ],
}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> None:
    def call(method: str, url: str, **_: Any) -> Any:
        assert method == "GET"
        return json.loads(json.dumps(API[url.removeprefix("http://api")]))

    for module in ("roost.cli.eventing", "roost.cli.access"):
        monkeypatch.setattr(f"{module}.call", call)
        monkeypatch.setattr(f"{module}.api_url", lambda api, project: "http://api")


@pytest.mark.usefixtures("api")
@pytest.mark.parametrize(
    ("command", "args", "path"),
    [
        ("events dlq list", (), "/api/v1/events/dlq"),
        ("events dlq show", ("d-1",), "/api/v1/events/dlq/d-1"),
        ("events trace", ("e-1",), "/api/v1/events/trace/e-1"),
        ("events triggers", (), "/api/v1/events/triggers"),
    ],
)
def test_bus_commands_relay_the_api_document_and_json_is_o_json(
    command: str, args: tuple[str, ...], path: str
) -> None:
    shaped = _shaped(command, *args)
    assert shaped == API[path]
    assert json.loads(_invoke(*command.split(), *args, "--json")) == shaped


@pytest.mark.usefixtures("api")
def test_token_and_role_list_wrap_the_api_list() -> None:
    tokens = _shaped("token list")
    assert tokens["kind"] == "TokenList"
    assert tokens["items"] == API["/api/v1/auth/tokens"]
    # --json keeps printing the bare list scripts were written against.
    assert json.loads(_invoke("token", "list", "--json")) == API["/api/v1/auth/tokens"]
    roles = _shaped("role list")
    assert (roles["kind"], roles["items"]) == ("RoleList", API["/api/v1/auth/roles"])
    assert json.loads(_invoke("role", "list", "--json")) == API["/api/v1/auth/roles"]


def test_the_api_documents_themselves_validate_and_json_is_o_json(root: Path) -> None:
    """The same commands against the real routes (an in-process app on a temporary store): a
    dead delivery, its trace, the triggers, tokens and roles as the API builds them."""
    import asyncio
    from datetime import UTC, datetime

    import httpx
    from tests._auth import admin_headers

    from roost.api.app import create_app
    from roost.control.workspace import open_workspace
    from roost.store.deliveries import DEAD, NewDelivery

    with open_workspace(root) as ws:
        event = ws.store.events.append("dev.roost.test.happened", source="tests", subject="web")
        (delivery,) = ws.store.deliveries.enqueue(
            [NewDelivery("page", event.to_cloudevent(), "c-1", None, 0)]
        )
        ws.store.deliveries.record_attempt(
            delivery, started_at=datetime.now(UTC), duration_ms=3.0, ok=False, status=503,
            detail="HTTP 503", state=DEAD, next_attempt_at=None,
        )  # fmt: skip
        headers = admin_headers(ws.store, "admin")

        def call(method: str, url: str, params: Any = None, **_: Any) -> Any:
            async def go() -> httpx.Response:
                transport = httpx.ASGITransport(app=create_app(ws))
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://roost", headers=headers
                ) as client:
                    return await client.request(method, url, params=params)

            response = asyncio.run(go())
            assert response.status_code == 200, response.text
            return response.json()

        with pytest.MonkeyPatch.context() as mp:
            for module in ("roost.cli.eventing", "roost.cli.access"):
                mp.setattr(f"{module}.call", call)
                mp.setattr(f"{module}.api_url", lambda api, project: "")
            for command, args in (
                ("events dlq list", ()),
                ("events dlq show", (delivery,)),
                ("events trace", (event.id,)),
                ("events triggers", ()),
            ):
                shaped = _shaped(command, *args)
                assert json.loads(_invoke(*command.split(), *args, "--json")) == shaped
            (dead,) = _shaped("events dlq list")["deliveries"]
            assert (dead["id"], dead["state"], dead["last_error"]) == (delivery, "dead", "HTTP 503")
            assert _shaped("events trace", event.id)["root"]["event"]["id"] == event.id
            (trigger,) = _shaped("events triggers")["triggers"]
            assert trigger["deliveries"] == {"dead": 1}
            assert "admin" in {t["name"] for t in _shaped("token list")["items"]}
            assert isinstance(_shaped("role list")["items"], list)
