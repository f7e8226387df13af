"""The values of ``env:`` secrets, read where a deploy is issued.

``env:VAR`` means *the deploying user's* ``$VAR``: the CLI reads it here and sends it with
the request (``secret_env``), and the control plane seals it on arrival. Reading it in
``roost serve`` instead would use whatever environment the control plane was started with —
an exported variable would go unseen until ``roost down``.
"""

from __future__ import annotations

import os
from pathlib import Path


def secret_env(project: Path | None, services: list[str] | None = None) -> dict[str, str]:
    """``{VAR: value}`` for every ``env:VAR`` secret of ``services`` (default: all) in the
    local roost.yaml that is set in this process's environment. A variable that is not set
    is left out: the control plane then refuses with a message naming it."""
    from roost.control.workspace import ProjectNotFound, find_project
    from roost.spec import SpecError, load_project

    try:
        spec = load_project(find_project(project))
    except (ProjectNotFound, SpecError, OSError):
        return {}  # the control plane reports a broken or missing roost.yaml itself
    found = {}
    for service in spec.services:
        if services is not None and service.name not in services:
            continue
        for ref in service.secrets:
            kind, _, var = ref.source.partition(":")
            if kind == "env" and var in os.environ:
                found[var] = os.environ[var]
    return found
