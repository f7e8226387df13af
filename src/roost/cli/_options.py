"""Typer options that several commands share: one name, one envvar, one help text each.

Use them as parameter types: ``project: ProjectOpt = None``. Defaults stay at the use site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ProjectOpt = Annotated[
    Path | None,
    typer.Option("--project", "-p", help="roost.yaml or its folder (default: current folder)."),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        envvar="ROOST_DATABASE_URL",
        help="State store URL (default: SQLite at .roost/state.db in the project folder).",
        show_default=False,
    ),
]
ApiOpt = Annotated[
    str | None,
    typer.Option(
        help="API URL (default: ROOST_API_URL, then this project's running `roost serve`)."
    ),
]
EnvOpt = Annotated[
    str | None, typer.Option("--env", "-e", help="Environment (default: the first).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (machine-readable).")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]
LimitOpt = Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")]
HeartbeatGraceOpt = Annotated[
    float | None,
    typer.Option(
        envvar="ROOST_HEARTBEAT_GRACE",
        help="Seconds without a heartbeat from an agent before it is NotReady and gets "
        "no new work [default: 15].",
        show_default=False,
    ),
]
