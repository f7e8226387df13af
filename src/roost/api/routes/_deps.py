from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from roost.control.workspace import Workspace


def _workspace(request: Request) -> Workspace:
    ws: Workspace = request.app.state.workspace
    return ws


WorkspaceDep = Annotated[Workspace, Depends(_workspace)]
