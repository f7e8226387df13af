"""A workspace: where a project lives on disk, its roost.yaml, and its state store.

Everything that runs against a project (``roost serve``, later the reconcilers) starts by opening
one, so the rules for finding roost.yaml and ``.roost/`` live in exactly one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from roost.clock import Clock, RealClock
from roost.control.paths import STATE_DIR
from roost.secrets import KeyRing
from roost.spec import Project, find_project_file, load_project
from roost.store import Store, open_store


class ProjectNotFound(Exception):
    """There is no roost.yaml where the user pointed (or in the current directory)."""

    def __init__(self, where: Path) -> None:
        self.where = where
        self.hint = "create one (see examples/shop/roost.yaml) or pass --project PATH"
        super().__init__(f"no roost.yaml in {where}")


def find_project(project: Path | None) -> Path:
    """The roost.yaml to use, or :class:`ProjectNotFound`."""
    start = project if project is not None else Path.cwd()
    if project is not None and not project.exists():
        raise ProjectNotFound(project)
    found = find_project_file(start)
    if found is None:
        raise ProjectNotFound(start)
    return found


@dataclass
class Workspace:
    """An opened project: its root folder, the validated roost.yaml, and the state store."""

    root: Path
    project_file: Path
    project: Project
    store: Store
    clock: Clock = field(default_factory=RealClock)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @cached_property
    def keys(self) -> KeyRing:
        """The keys of the project's sealed secrets (loaded on first use, then kept)."""
        return KeyRing(
            self.state_dir, key_command=self.project.secret_store.key_command, cwd=self.root
        )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Workspace(root={str(self.root)!r}, project={self.project.project!r}, "
            f"store={self.store!r})"
        )


def open_workspace(
    project: Path | None = None,
    *,
    database_url: str | None = None,
    clock: Clock | None = None,
) -> Workspace:
    """Load roost.yaml (raising ``SpecError``) and open the store (raising ``StoreError``)."""
    clock = clock or RealClock()
    project_file = find_project(project)
    spec = load_project(project_file)
    root = project_file.parent
    store = open_store(database_url or os.environ.get("ROOST_DATABASE_URL"), root=root, clock=clock)
    return Workspace(root=root, project_file=project_file, project=spec, store=store, clock=clock)
