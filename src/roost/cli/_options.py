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
TlsCertOpt = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert",
        help="Serve HTTPS with this PEM certificate (chain); needs --tls-key.",
        show_default=False,
    ),
]
TlsKeyOpt = Annotated[
    Path | None,
    typer.Option("--tls-key", help="The PEM private key of --tls-cert.", show_default=False),
]
TlsCaOpt = Annotated[
    Path | None,
    typer.Option(
        "--tls-ca",
        help="The CA that signed --tls-cert, recorded in .roost/api.json so this project's "
        "CLI verifies the API against it (for a private CA).",
        show_default=False,
    ),
]
InsecureHttpOpt = Annotated[
    bool,
    typer.Option(
        "--insecure-http",
        help="Allow plain HTTP on an address other than loopback (warned about at each start).",
    ),
]


def project_root(project: Path | None) -> Path:
    """The folder of the project that ``--project`` (or the current folder) names; a folder
    without a roost.yaml is not a project, and a command run there says so (exit 2) instead of
    creating ``.roost/`` state where nobody will look for it."""
    from roost.cli._output import fail
    from roost.spec import find_project_file

    start = project if project is not None else Path.cwd()
    found = find_project_file(start)
    if found is None:
        where = "the current folder" if project is None else str(project)
        fail(
            f"no roost.yaml in {where}: this is not a roost project",
            hint="run the command in the project's folder, or pass --project PATH",
            code=2,
        )
    return found.parent
