"""``roost hooks``: build on commit, through git's post-commit hook."""

from __future__ import annotations

from typing import Annotated

import typer

from roost.cli._options import DatabaseOpt, ProjectOpt
from roost.cli._output import console, fail, user_errors
from roost.cli.building import build_one
from roost.cli.builds import build_workspace

hooks_app = typer.Typer(help="Build on commit: the git post-commit hook.", no_args_is_help=True)


@hooks_app.command("install")
def hooks_install(
    force: Annotated[
        bool, typer.Option(help="Replace a post-commit hook roost did not write.")
    ] = False,
    project: ProjectOpt = None,
) -> None:
    """Build on every commit whose branch and changed paths match a service's build.trigger."""
    from roost.build import BuildError, install_hook
    from roost.control.workspace import find_project

    with user_errors():
        root = find_project(project).parent
    try:
        path = install_hook(root, force=force)
    except BuildError as exc:
        fail(str(exc), hint=exc.hint)
    console.print(
        f"installed {path}: commits now start matching builds in the background", markup=False
    )


@hooks_app.command("uninstall")
def hooks_uninstall(project: ProjectOpt = None) -> None:
    """Remove roost's post-commit hook."""
    from roost.build import BuildError, uninstall_hook
    from roost.control.workspace import find_project

    with user_errors():
        root = find_project(project).parent
    try:
        removed = uninstall_hook(root)
    except BuildError as exc:
        fail(str(exc), hint=exc.hint)
    console.print(f"removed {removed}" if removed else "no roost hook installed", markup=False)


@hooks_app.command("run", hidden=True)
def hooks_run(
    ref: Annotated[str, typer.Option(help="The commit (the hook passes its sha).")] = "HEAD",
    branch: Annotated[str | None, typer.Option(help="Its branch, as the hook saw it.")] = None,
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """What the post-commit hook runs: build every service whose trigger matches."""
    from roost.build import changed_paths, resolve, triggered_services

    with build_workspace(project, database_url) as ws:
        commit = resolve(ws.root, ref)
        on = commit.branch if branch is None else branch
        changed = changed_paths(commit)
        names = triggered_services(ws.project, branch=on, changed=changed)
        console.print(
            f"commit {commit.short_sha} on {on or '(detached)'}: "
            f"{len(changed)} changed, building {', '.join(names) or 'nothing'}",
            markup=False,
        )
        failed = [
            n
            for n in names
            if not build_one(ws, n, ref=commit.sha, release=True, trigger="hook", branch=on)
        ]
    if failed:
        raise typer.Exit(1)
