"""Every `roost …` command that README.md, docs/ and examples/ tell people to run exists: each
is resolved through the real command tree and its `--help` runs through the CLI entry point."""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from roost.cli import app

REPO = Path(__file__).resolve().parents[2]
_SPAN = re.compile(r"`(roost [^`]+)`")
_FENCE = re.compile(r"^\s*(```|~~~)")
_PROMPT = re.compile(r"^\s*(?:\$\s*)?(roost\s.*)$")


def _documents() -> list[Path]:
    found = [REPO / "README.md"]
    for folder in ("docs", "examples"):
        if (REPO / folder).is_dir():
            found += sorted(
                path
                for path in (REPO / folder).rglob("*")
                if path.suffix in (".md", ".yaml", ".yml")
                and "site-packages" not in path.parts
                and ".roost" not in path.parts
            )
    return [path for path in found if path.is_file()]


def documented_commands(path: Path) -> list[tuple[int, str]]:
    """``(line number, command)`` for every `roost …` span and every code-block line that starts
    with ``roost`` (or ``$ roost``) in ``path``."""
    commands: list[tuple[int, str]] = []
    in_code = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if path.suffix == ".md" and _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            match = _PROMPT.match(line)
            if match:
                commands.append((number, match.group(1).split("#")[0].strip()))
            continue
        commands += [(number, span) for span in _SPAN.findall(line)]
    return commands


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)[1:]
    except ValueError:  # an unbalanced quote in a shortened example
        return command.split()[1:]


def resolve(command: str) -> list[str] | str:
    """The subcommand path that ``command`` names (each alternative of ``a|b`` is checked), or
    why it does not exist."""
    # Duck-typed: Typer's groups and commands are Click's, but from the Click that Typer ships.
    node: Any = typer.main.get_command(app)
    path: list[str] = []
    words = _words(command)
    for index, word in enumerate(words):
        if not hasattr(node, "list_commands") or word.startswith(("-", "[", "<", ">")):
            break
        names = word.split("|")
        found = [_subcommand(node, [name, *words[index + 1 :]]) for name in names]
        if all(sub is not None for sub in found):
            sub = found[0]
            assert sub is not None
            if len(names) > 1:
                return [*path, names[0]]  # alternatives: each exists; stop here
            if sub.name != word:  # a group that runs a default subcommand (`roost build web`)
                return [*path, sub.name]
            path.append(word)
            node = sub
            continue
        if not any(p.param_type_name == "argument" for p in node.params):
            missing = [name for name, sub in zip(names, found, strict=True) if sub is None]
            where = " ".join(["roost", *path])
            return f"`{where}` has no subcommand {missing[0]!r}"
        break
    return path


def _subcommand(group: Any, args: list[str]) -> Any:
    """The command ``group`` runs for ``args``, as the group itself decides (some groups have a
    default subcommand), or None."""
    context = group.context_class(group, resilient_parsing=True)
    try:
        # Parsing first lets a group rewrite its arguments (roost build's default "run"); the
        # command name is then the first of Click's "protected" arguments.
        rest = group.parse_args(context, list(args))
        protected = getattr(context, "_protected_args", None) or []
        _, command, _ = group.resolve_command(context, [*protected, *rest])
    except Exception:  # Click's UsageError, from the Click that Typer ships
        return None
    return command


CASES = [
    pytest.param(command, id=f"{path.relative_to(REPO)}:{number}")
    for path in _documents()
    for number, command in documented_commands(path)
]


def test_the_documents_name_commands() -> None:
    assert len(CASES) > 20


@pytest.mark.parametrize("command", CASES)
def test_each_documented_command_exists_and_has_help(command: str) -> None:
    resolved = resolve(command)
    assert not isinstance(resolved, str), f"{command}: {resolved}"
    exit_code, output = _help(tuple(resolved))
    assert exit_code == 0, f"{command}: {output}"
    assert "Usage:" in output


@cache
def _help(path: tuple[str, ...]) -> tuple[int, str]:
    # Many documents name the same command; its help is asked once.
    result = CliRunner().invoke(app, [*path, "--help"])
    return result.exit_code, result.output


def test_a_command_that_does_not_exist_is_caught(tmp_path: Path) -> None:
    # The papercut this test exists for: the example told people to run `roost promote`.
    page = tmp_path / "page.md"
    page.write_text("Run `roost promotee web` when ready.\n\n```\nroost rollout hurry\n```\n")
    found = [command for _, command in documented_commands(page)]
    assert found == ["roost promotee web", "roost rollout hurry"]
    assert resolve(found[0]) == "`roost` has no subcommand 'promotee'"
    assert resolve(found[1]) == "`roost rollout` has no subcommand 'hurry'"
    assert resolve("roost rollout promote web") == ["rollout", "promote"]
