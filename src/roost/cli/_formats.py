"""``-o json|yaml`` (kubectl style) and ``--watch`` for listing and status commands.

A command builds one shape from :mod:`roost.cli._shapes` and hands it to :func:`emit`: the
table stays the default for people, ``-o json`` / ``-o yaml`` print the shape's documented form
(docs/output.md) for tools. ``--json``, where a command had it, is kept as ``-o json``.
With ``--watch``, :func:`watching` repeats the command every ``interval`` seconds until
interrupted: the table is redrawn; JSON prints one document per line (JSON Lines) and YAML one
document per ``---`` each time the content changes, so a pipe sees each change once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from roost.cli._output import EXIT_INVALID, console, fail

if TYPE_CHECKING:
    # Only for hints: quick commands (``roost --version``) should not import pydantic.
    from pydantic import BaseModel

Format = Literal["json", "yaml"]

FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="json or yaml: the documented machine-readable shape (see docs/output.md); "
        "default: a table.",
        show_default=False,
    ),
]
WatchOpt = Annotated[
    bool, typer.Option("--watch", "-w", help="Keep showing it as it changes (Ctrl-C stops).")
]
IntervalOpt = Annotated[
    float, typer.Option("--interval", min=0.2, help="Seconds between refreshes with --watch.")
]


def chosen(output: str | None, as_json: bool = False) -> Format | None:
    """The machine format asked for (``--json`` means ``-o json``); None for the table."""
    if output is None:
        return "json" if as_json else None
    value = output.strip().lower()
    if value == "json":
        return "json"
    if value in ("yaml", "yml"):
        return "yaml"
    fail(f"-o {output!r} is not an output format", hint="use -o json or -o yaml", code=EXIT_INVALID)


def render(shape: BaseModel, fmt: Format, *, compact: bool = False) -> str:
    """``shape`` as JSON or YAML text (ending in a newline)."""
    data = shape.model_dump(mode="json")
    if fmt == "json":
        return (json.dumps(data) if compact else json.dumps(data, indent=2)) + "\n"
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, width=120))


def emit(shape: BaseModel, fmt: Format) -> None:
    """Print ``shape`` in ``fmt`` to stdout, as is (no Rich markup or wrapping)."""
    typer.echo(render(shape, fmt), nl=False)


def watching(
    fetch: Callable[[], BaseModel],
    table: Callable[[BaseModel], None],
    fmt: Format | None,
    *,
    interval: float,
    until: Callable[[BaseModel], bool] = lambda _: False,
) -> None:
    """Show ``fetch()`` again every ``interval`` seconds until Ctrl-C (or ``until`` says the
    thing watched is over): a redrawn table, or each changed document once."""
    last: str | None = None
    try:
        while True:
            shape = fetch()
            if fmt is None:
                console.clear()
                table(shape)
            else:
                text = render(shape, fmt, compact=True)
                if text != last:
                    typer.echo(text if fmt == "json" else "---\n" + text, nl=False)
                    last = text
            if until(shape):
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        return
