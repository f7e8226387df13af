"""`-o json|yaml` on every listing and status command: each command's real output parses and
validates against its shape in roost.cli._shapes, YAML says the same as JSON, docs/output.md is
generated from the shapes, `--json` stays an alias, `--watch` streams one JSON document per line,
and tables fold instead of truncating on a narrow terminal."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from tests._roost import REPO, kill_leftovers, roost
from tests.cli.test_output_shapes_offline import OFFLINE
from typer.testing import CliRunner

from roost.cli._shapes import SHAPES, WATCHABLE, render_docs
from roost.cli.app import app

HELLO = REPO / "examples" / "hello"

# The arguments each command needs besides -o (found in the running project).
ARGS: dict[str, tuple[str, ...]] = {
    "history": ("hello",),
    "rollout list": ("--no-active",),
    "rollout status": ("hello",),
    "lease describe": ("control-plane",),
}
# Commands whose exit status reports on health; their output is what is checked.
MAY_FAIL = {"doctor"}


def _commands() -> dict[str, Any]:
    # Typer ships its own click: commands are told apart by what they have, not their class.
    found: dict[str, Any] = {}

    def walk(prefix: str, command: Any) -> None:
        if hasattr(command, "commands"):
            if prefix and any(p.name == "output" for p in command.params):
                found[prefix] = command  # a group callback that lists (`roost alerts`)
            for name, sub in command.commands.items():
                walk(f"{prefix} {name}".strip(), sub)
        else:
            found[prefix] = command

    walk("", typer.main.get_command(app))
    return found


def _options(command: Any) -> list[Any]:
    return [p for p in command.params if getattr(p, "param_type_name", "") == "option"]


def _takes_format(command: Any) -> bool:
    return any(
        "-o" in p.opts and "json or yaml" in (getattr(p, "help", None) or "")
        for p in _options(command)
    )


def test_docs_output_md_is_generated_from_the_shapes() -> None:
    assert (REPO / "docs" / "output.md").read_text() == render_docs(), (
        "regenerate: python -m roost.cli._shapes > docs/output.md"
    )


def test_every_command_with_o_has_a_shape_and_every_shape_a_command() -> None:
    commands = _commands()
    with_format = {name for name, command in commands.items() if _takes_format(command)}
    assert with_format == set(SHAPES)
    for name in WATCHABLE:
        assert any("--watch" in p.opts for p in _options(commands[name]))
    # the listing commands the issue names are all there
    assert {
        "ps",
        "release list",
        "rollout list",
        "rollout status",
        "slo status",
        "events",
        "builds",
        "artifacts list",
        "lease list",
        "lock list",
        "audit head",
    } <= with_format
    # and the newer ones: the event bus, secrets, schedules, quarantines, keys, tokens, roles
    assert {
        "events dlq list",
        "events dlq show",
        "events triggers",
        "events trace",
        "secret list",
        "secret versions",
        "schedule list",
        "schedule next",
        "schedule runs",
        "artifacts quarantined",
        "identity keys",
        "token list",
        "role list",
    } <= with_format


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("output") / "hello"
    shutil.copytree(HELLO, root)
    up = roost("up", "--project", str(root), timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield root
    finally:
        roost("down", "--project", str(root), timeout=120)
        kill_leftovers(root)


def _run(project: Path, command: str, *extra: str) -> Any:
    """In this process (a subprocess per call costs seconds on a busy machine)."""
    args = [*command.split(), *ARGS.get(command, ()), "-p", str(project), *extra]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"}, catch_exceptions=False)
    if command not in MAY_FAIL:
        assert result.exit_code == 0, f"roost {command}: {result.stderr}"
    return result


def _narrow(project: Path, command: str) -> str:
    """In a subprocess: Rich reads the terminal width when the console is created."""
    result = roost(
        *command.split(), *ARGS.get(command, ()), "-p", str(project),
        env={"COLUMNS": "60"}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, f"roost {command}: {result.stderr}"
    return result.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("command", sorted(set(SHAPES) - OFFLINE))
def test_each_command_prints_its_documented_shape(project: Path, command: str) -> None:
    as_json = json.loads(_run(project, command, "-o", "json").stdout)
    SHAPES[command].model_validate(as_json)
    as_yaml = yaml.safe_load(_run(project, command, "-o", "yaml").stdout)
    SHAPES[command].model_validate(as_yaml)
    # Same keys and kinds of values (some commands report the time they ran).
    assert as_yaml.keys() == as_json.keys()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_shapes_hold_the_facts(project: Path) -> None:
    ps = json.loads(_run(project, "ps", "-o", "json").stdout)
    (service,) = ps["services"]
    assert (service["environment"], service["service"]) == ("dev", "hello")
    (revision,) = service["revisions"]
    assert (revision["revision"], revision["weight"], revision["desired_replicas"]) == (
        "hello-r1",
        100,
        2,
    )
    releases = json.loads(_run(project, "release list", "-o", "json").stdout)
    assert [r["id"] for r in releases["items"]] == ["hello-r1"]
    leases = json.loads(_run(project, "lease list", "-o", "json").stdout)
    assert "control-plane" in {item["name"] for item in leases["items"]}
    head = json.loads(_run(project, "audit head", "-o", "json").stdout)
    assert len(head["head"]) == 64
    assert head["events"] >= 1


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_json_flags_are_aliases_and_bad_formats_one_line(project: Path) -> None:
    for command in ("vulndb info", "audit verify"):
        old = json.loads(_run(project, command, "--json").stdout)
        new = json.loads(_run(project, command, "-o", "json").stdout)
        assert old == new
    bad = roost("release", "list", "-p", str(project), "-o", "xml")
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr.strip() == (
        "roost: error: -o 'xml' is not an output format (use -o json or -o yaml)"
    )


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ps_watch_streams_one_json_document_per_line(project: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "roost", "ps", "-p", str(project), "-w", "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()  # blocks until the first document
            first = json.loads(line)
            assert first["kind"] == "Ps"
            assert first["services"][0]["service"] == "hello"
            time.sleep(1)
            assert process.poll() is None, "--watch keeps running"
        finally:
            process.terminate()
            process.communicate(timeout=30)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_tables_fold_instead_of_truncating_on_a_narrow_terminal(project: Path) -> None:
    for command in ("lease list", "release list", "events", "ps"):
        narrow = _narrow(project, command)
        assert "…" not in narrow, f"roost {command} truncated a column:\n{narrow}"


def test_every_cli_table_folds() -> None:
    # A table built from rich.table.Table directly would truncate on a narrow terminal again.
    cli = REPO / "src" / "roost" / "cli"
    direct = [
        path.name
        for path in sorted(cli.glob("*.py"))
        if path.name != "_tables.py" and "from rich.table import" in path.read_text()
    ]
    assert direct == [], "use roost.cli._tables.Table (it folds long cells)"
