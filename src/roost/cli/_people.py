"""Who is asking: the name roost records as a deploy's requester, approver or commander.

``--as NAME`` wins, then ``$ROOST_USER``, then the operating-system user. roost does not
authenticate people (the API listens on 127.0.0.1 for the local user); the name is what four
eyes compares and what the audit log records.
"""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer

AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Who you are, for approvals and the audit log (default: $ROOST_USER, then the OS "
        "user).",
        show_default=False,
    ),
]


def who(name: str | None) -> str:
    """The acting person's name."""
    for candidate in (name, os.environ.get("ROOST_USER")):
        if candidate and candidate.strip():
            return candidate.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid-{os.getuid()}"
