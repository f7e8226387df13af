"""How the CLI talks to people: Rich consoles and the one-line error format.

A user error is always one line on stderr, ``roost: error: <what> (<hint>)``, and a non-zero exit
code — never a traceback. Exit codes: 1 for runtime failures (port in use, database unreachable),
2 for invalid input (roost.yaml problems, bad arguments — the same code Click uses for usage).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from pathlib import Path

    from roost.spec import SpecError

# emoji=False: Rich would turn ":100:" in "roost.yaml:100:36: ..." into an emoji, and
# ":1234:" likewise; nothing roost prints means an emoji code.
console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

EXIT_FAILURE = 1
EXIT_INVALID = 2


def fail(message: str, *, hint: str | None = None, code: int = EXIT_FAILURE) -> NoReturn:
    """Print ``roost: error: message (hint)`` to stderr and exit with ``code``."""
    line = f"roost: error: {message}"
    if hint:
        line += f" ({hint})"
    err_console.print(line, markup=False)
    raise typer.Exit(code)


def print_problems(exc: SpecError) -> None:
    """Every roost.yaml problem as ``file:line:column: message (hint)``, one per line."""
    for problem in exc.problems:
        err_console.print(problem.format(), markup=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one clear line and an exit code.

    roost.yaml problems exit 2 (invalid input); a missing project or an unusable state store
    exits 1. Anything else is a bug and keeps its traceback.
    """
    # Imported here, not at the top: they pull in pydantic and SQLAlchemy, which quick
    # commands (--version, status) should not pay for.
    from roost.control.workspace import ProjectNotFound
    from roost.spec import SpecError
    from roost.store import StoreError

    try:
        yield
    except SpecError as exc:
        print_problems(exc)
        raise typer.Exit(EXIT_INVALID) from None
    except ProjectNotFound as exc:
        fail(str(exc), hint=exc.hint, code=EXIT_INVALID)
    except StoreError as exc:
        fail(str(exc), hint=getattr(exc, "hint", None))


def write_output(text: str, output: Path | None, *, hint: str, code: int = EXIT_FAILURE) -> None:
    """``text`` as it is to stdout, or into the file ``output`` (saying so on stderr); a file
    that cannot be written is a one-line error with ``hint`` and exit ``code``."""
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}", hint=hint, code=code)
    err_console.print(f"wrote {output}", markup=False)
