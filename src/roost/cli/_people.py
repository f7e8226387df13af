"""Who is asking.

Through the API (deploy, approve, rollouts, weights…) the answer is the credential's subject
(:mod:`roost.cli._api`); ``--as NAME`` there is impersonation, which only an admin may do and
the audit log records as such. Commands that write the local store themselves (an audit
checkpoint, a silence, a lease) record ``--as``, then ``$ROOST_USER``, then the OS user.
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
        help="Act as NAME. Through the API: impersonation (admins only; the audit log names "
        "both); you are who your token says otherwise.",
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
