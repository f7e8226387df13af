"""Builds on record: ``roost builds`` (history) and ``roost build logs|cancel|show``.

Also the helpers every build command shares: opening the workspace with one-line errors, who
the actor is, and the colour of a build or step state.
"""

from __future__ import annotations

import getpass
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roost._util import event_catalog as events
from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import DatabaseOpt, ProjectOpt
from roost.cli._output import console, fail, user_errors
from roost.cli._tables import Table

if TYPE_CHECKING:
    from roost.control.workspace import Workspace
    from roost.store.builds import BuildRecord

STATE_STYLE = {
    "pending": "dim",
    "running": "cyan",
    "succeeded": "green",
    "cached": "green",
    "failed": "red",
    "timed_out": "red",
    "cancelled": "yellow",
    "skipped": "dim",
    "lost": "red",
}


@contextmanager
def build_workspace(project: Path | None, database_url: str | None) -> Iterator[Workspace]:
    from roost.artifacts import ArtifactError
    from roost.build import BuildError
    from roost.control.workspace import open_workspace
    from roost.store import NotFound

    with user_errors():
        workspace = open_workspace(project, database_url=database_url)
        try:
            yield workspace
        except (BuildError, ArtifactError) as exc:
            fail(str(exc), hint=exc.hint)
        except NotFound as exc:
            fail(str(exc), hint="`roost builds` lists the builds")
        finally:
            workspace.close()


def actor() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def build_logs(
    build_id: Annotated[str, typer.Argument(help="Build id (web-b12) or a service (its latest).")],
    step: Annotated[str | None, typer.Argument(help="Only this step.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the build ends.")
    ] = False,
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Print a build's step logs (all steps in order, or one)."""
    from roost.build import logs

    with build_workspace(project, database_url) as ws:
        build = find_build(ws, build_id)
        steps = [s.name for s in ws.store.builds.steps(build.id)]
        if step is not None and step not in steps:
            fail(f"build {build.id} has no step {step!r}", hint="steps: " + ", ".join(steps))
        chosen = [step] if step else steps
        paths = [(name, logs.log_path(ws.root, build.id, name)) for name in chosen]
        if follow:
            store = ws.store

            def finished() -> bool:
                return store.builds.get(build.id).finished

            prefix = len(chosen) > 1
            for name, line in logs.follow(paths, finished=finished, sleep=time.sleep):
                console.print(f"[{name}] {line}" if prefix else line, markup=False)
            return
        for name, path in paths:
            if len(chosen) > 1:
                console.print(f"--- {name} ---", markup=False)
            if path.exists():
                sys.stdout.flush()
                console.file.write(path.read_text(errors="replace"))


def cancel(
    build_id: Annotated[str, typer.Argument(help="Build id, e.g. web-b12.")],
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Stop a running build (its runner stops the steps within a second)."""
    from roost.store import Conflict

    with build_workspace(project, database_url) as ws:
        build = find_build(ws, build_id)
        try:
            ws.store.builds.request_cancel(build.id)
        except Conflict as exc:
            fail(str(exc))
        ws.store.events.append(
            events.BUILD_CANCEL_REQUESTED,
            source=events.SOURCE_BUILDS,
            subject=build.id,
            actor=actor(),
        )
    console.print(f"cancel requested for {build.id}", markup=False)


def show(
    build_id: Annotated[str, typer.Argument(help="Build id (web-b12) or a service (its latest).")],
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """One build: its commit, result, artifact, release, and each step's time and cache use."""
    with build_workspace(project, database_url) as ws:
        build = find_build(ws, build_id)
        steps = ws.store.builds.steps(build.id)
    console.print(
        f"build {build.id}: {build.service} at {build.commit_sha[:7]} "
        f"({build.branch or 'detached'}), {build.trigger}, {build.state}"
        + (f": {build.error}" if build.error else ""),
        markup=False,
    )
    if build.artifact:
        console.print(f"artifact {build.artifact}", markup=False)
    if build.release_id:
        console.print(f"release {build.release_id}", markup=False)
    table = Table("step", "needs", "state", "time", "cache", "exit", "error")
    for s in steps:
        took = f"{s.duration.total_seconds():.2f}s" if s.duration is not None else ""
        cache = "hit" if s.cache_hit else ("miss" if s.cache_key else "")
        exit_code = "" if s.exit_code is None else str(s.exit_code)
        table.add_row(
            s.name, ", ".join(s.needs), s.state, took, cache, exit_code, (s.error or "")[:60]
        )
    console.print(table)


def find_build(ws: Workspace, text: str) -> BuildRecord:
    """A build by id, the latest build of a service, or a build by a unique leading part of
    its id (a service name wins over a prefix: ``web`` is web's latest build)."""
    from roost.store import NotFound

    try:
        return ws.store.builds.get(text)
    except NotFound:
        pass
    latest = ws.store.builds.list(text, limit=1)
    if latest:
        return latest[0]
    return ws.store.builds.find(text)


def builds(
    service: Annotated[str | None, typer.Argument(help="Only this service.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
    output: FormatOpt = None,
) -> None:
    """Build history: commit, result, duration, cache hits, artifact and release."""
    from roost.build.reaping import reap_lost

    fmt = chosen(output)
    with build_workspace(project, database_url) as ws:
        reap_lost(ws.store)
        history = ws.store.builds.list(service, limit=limit)
        steps = {b.id: ws.store.builds.steps(b.id) for b in history}
    if fmt is not None:
        from roost.cli._shapes import BuildItem, BuildList

        items = [
            BuildItem(
                id=b.id,
                service=b.service,
                commit=b.commit_sha,
                branch=b.branch,
                trigger=b.trigger,
                state=b.state,
                duration_seconds=b.duration.total_seconds() if b.duration else None,
                steps=len(steps[b.id]),
                cached_steps=sum(1 for s in steps[b.id] if s.cache_hit),
                artifact=b.artifact,
                release=b.release_id,
            )
            for b in history
        ]
        emit(BuildList(items=items), fmt)
        return
    table = Table(
        "build",
        "commit",
        "branch",
        "trigger",
        "state",
        "time",
        "steps",
        "artifact",
        "release",
        title=f"builds ({len(history)})",
    )
    for b in history:
        took = f"{b.duration.total_seconds():.1f}s" if b.duration else ""
        ran = steps[b.id]
        cached = sum(1 for s in ran if s.cache_hit)
        style = STATE_STYLE.get(b.state, "")
        table.add_row(
            b.id,
            b.commit_sha[:7],
            b.branch or "-",
            b.trigger,
            f"[{style}]{b.state}[/]",
            took,
            f"{len(ran)} ({cached} cached)",
            (b.artifact or "")[:19],
            b.release_id or "",
        )
    console.print(table)
