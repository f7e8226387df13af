"""``roost build``: run a service's build pipeline in the foreground, with a live view.

``roost build [SERVICE] [--ref REF]`` runs in the foreground with a live view of its steps;
Ctrl-C cancels it cleanly. A failing step prints the tail of its log and exits 1. A green build
whose pipeline says ``on_success.release`` cuts a release pointing at its artifact
(``oci:<digest>``), and with ``deploy_to`` asks a running control plane to deploy it.
``roost build logs|cancel|show`` live in :mod:`roost.cli.builds`, the hook in
:mod:`roost.cli.hooks`.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.live import Live
from typer.core import TyperGroup

from roost.cli._options import DatabaseOpt, ProjectOpt
from roost.cli._output import console, err_console, fail
from roost.cli._tables import Table
from roost.cli.builds import STATE_STYLE, actor, build_logs, build_workspace, cancel, show

if TYPE_CHECKING:
    from roost.build import BuildResult
    from roost.control.workspace import Workspace
    from roost.spec import Project
    from roost.store.builds import BuildRecord


class _DefaultRun(TyperGroup):
    """``roost build web`` means ``roost build run web``: the group's subcommands (logs,
    cancel, show) are matched first, anything else is the service to build."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


build_app = typer.Typer(
    cls=_DefaultRun, help="Run a service's build pipeline, follow its logs, cancel it."
)


@build_app.command("run")
def run(
    service: Annotated[
        str | None,
        typer.Argument(help="Service to build (default: every service with a pipeline)."),
    ] = None,
    ref: Annotated[str, typer.Option(help="Branch, tag or commit to build.")] = "HEAD",
    no_release: Annotated[
        bool, typer.Option("--no-release", help="Do not run on_success (release, deploy).")
    ] = False,
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Build SERVICE at REF: clean checkout, steps, artifact, release."""
    with build_workspace(project, database_url) as ws:
        names = [service] if service else [s.name for s in ws.project.services if s.build]
        if not names:
            fail("no service has a build pipeline", hint="add `build:` to a service in roost.yaml")
        failed = [
            name for name in names if not build_one(ws, name, ref=ref, release=not no_release)
        ]
    if failed:
        raise typer.Exit(1)


def build_one(
    ws: Workspace,
    service: str,
    *,
    ref: str,
    release: bool,
    trigger: str = "manual",
    branch: str | None = None,
) -> bool:
    from roost.build import BuildRequest, run_build

    view = _View(service)
    request = BuildRequest(
        ws.root,
        ws.project,
        service,
        ref=ref,
        trigger=trigger,
        created_by=actor(),
        branch=branch,
        on_success=_releaser(ws) if release else None,
    )
    # SIGTERM (a service manager, `kill`) stops the build like Ctrl-C does: the steps' process
    # groups are stopped and the build is recorded as cancelled instead of left "running".
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with view:
            result = run_build(request, store=ws.store, clock=ws.clock, observer=view)
    finally:
        signal.signal(signal.SIGTERM, previous)
    _report(result)
    return result.succeeded and result.release_error is None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _report(result: BuildResult) -> None:
    build = result.build
    took = f"{build.duration.total_seconds():.1f}s" if build.duration else "?"
    if result.succeeded:
        cached = sum(1 for s in result.steps if s.cache_hit)
        console.print(
            f"build {build.id} succeeded in {took} ({len(result.steps)} steps, {cached} cached)",
            markup=False,
        )
        if result.packaged is not None:
            tags = ", ".join(result.packaged.tags)
            console.print(
                f"artifact {result.packaged.digest} ({tags})", markup=False, soft_wrap=True
            )
        if build.release_id:
            console.print(
                f"release {build.release_id} (oci:{build.artifact})", markup=False, soft_wrap=True
            )
        if result.release_error:
            err_console.print(
                f"roost: error: build {build.id} is green but no release was cut: "
                f"{result.release_error}",
                markup=False,
            )
        return
    if result.failed_step and result.log_tail:
        err_console.print(f"--- last lines of {result.failed_step}.log ---", markup=False)
        for line in result.log_tail:
            err_console.print(line, markup=False)
        err_console.print("---", markup=False)
    err_console.print(
        f"roost: error: build {build.id} {build.state.replace('_', ' ')} after {took}: "
        f"{build.error} (see `roost build logs {build.id}`)",
        markup=False,
    )


class _View:
    """The live progress of one build: a Rich table on a terminal, plain lines otherwise."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.build_id = service
        self.states: dict[str, tuple[str, str]] = {}
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self.note = ""
        self.live: Live | None = None

    def __enter__(self) -> _View:
        if console.is_terminal:
            self.live = Live(self, console=console, refresh_per_second=8, transient=False)
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def build_started(self, build: BuildRecord, steps: Sequence[str]) -> None:
        self.build_id = build.id
        self.states = {name: ("pending", "") for name in steps}
        self._say(f"build {build.id}: {build.service} at {build.commit_sha[:7]}")

    def step_changed(self, step: str, state: str, detail: str) -> None:
        now = time.monotonic()
        if state == "running":
            self.started[step] = now
        else:
            self.ended[step] = now
        self.states[step] = (state, detail)
        self._say(f"  {step}: {state}" + (f" ({detail})" if detail else ""))

    def phase(self, text: str) -> None:
        self.note = text
        self._say(f"  {text}")

    def _say(self, line: str) -> None:
        if self.live is None:
            console.print(line, markup=False)

    def __rich__(self) -> Table:
        table = Table(title=f"build {self.build_id}", title_justify="left")
        for column in ("step", "state", "time", ""):
            table.add_column(column)
        now = time.monotonic()
        for name, (state, detail) in self.states.items():
            begun = self.started.get(name)
            took = "" if begun is None else f"{self.ended.get(name, now) - begun:.1f}s"
            style = STATE_STYLE.get(state, "")
            table.add_row(name, f"[{style}]{state}[/]", took, detail[:60])
        if self.note:
            table.caption = self.note
        return table


def _releaser(ws: Workspace) -> Any:
    """``on_success``: cut a release pointing at the artifact, then ask to deploy it."""

    def release(build: BuildRecord, project: Project, project_dir: Path) -> str | None:
        if not build.data.get("release") or not build.artifact:
            return None
        from roost.control.releases.releasing import config_snapshot, same_or_new_release
        from roost.control.releases.vault import vault_of

        service = project.service(build.service)
        config = config_snapshot(project, service, root=project_dir)
        # The code is the artifact now: the runtime runs it from materialize(digest), not from
        # the temporary build folder the snapshot would point at.
        config["workdir"] = None
        # env: secrets come from the environment of the command that runs the build.
        secrets = vault_of(ws).pin_all(
            service.secrets, root=ws.root, secret_env=dict(os.environ), by=build.created_by
        )
        schema = service.db_schema
        artifact = f"oci:{build.artifact}"
        requires = schema.requires if schema is not None and schema.requires else ""
        migrates_to = schema.migrates_to if schema is not None else None
        # Rebuilding the same commit gives the same digest: that release already exists.
        record = same_or_new_release(
            ws.store,
            service.name,
            artifact=artifact,
            config=config,
            secrets=secrets,
            schema_requires=requires,
            schema_migrates_to=migrates_to,
            created_by=build.created_by,
            notes=f"build {build.id} of {build.commit_sha[:7]}"
            + (f" on {build.branch}" if build.branch else ""),
        )
        from roost.control.releases.scanning import scan_built

        scanned = scan_built(ws, build.artifact)  # stored per digest for the deploy gate
        if scanned:
            console.print(scanned, markup=False)
        target = build.data.get("deploy_to")
        if isinstance(target, str):
            _deploy(ws, record.service, record.id, target)
        return record.id

    return release


def _deploy(ws: Workspace, service: str, release_id: str, environment: str) -> None:
    """Ask the running control plane to deploy (it owns rollouts); say so when none runs."""
    import httpx

    from roost.cli._api import auth_headers, use_project, verify_for
    from roost.control.paths import read_api_file

    recorded = read_api_file(ws.state_dir)
    if not recorded or not isinstance(recorded.get("url"), str):
        console.print(
            f"not deploying {release_id} to {environment}: no control plane is running "
            f"(start it with `roost up`, then `roost deploy {service} --release {release_id} "
            f"--env {environment}`)",
            markup=False,
        )
        return
    body = {
        "service": service,
        "environment": environment,
        "release": release_id,
        "env": {},
        "approve": False,
    }
    try:
        url = f"{recorded['url']}/api/v1/rollouts"
        verify = verify_for(url, recorded_ca=recorded.get("ca"))
        use_project(ws.root)  # the owner's saved token, unless ROOST_TOKEN / --token say else
        response = httpx.post(url, json=body, headers=auth_headers(), timeout=60, verify=verify)
    except httpx.TransportError as exc:
        console.print(f"deploy of {release_id} to {environment} not started: {exc}")
        return
    if response.status_code >= 400:
        console.print(
            f"deploy of {release_id} to {environment} refused: {response.text[:200]}",
            markup=False,
        )
    else:
        console.print(f"deploying {release_id} to {environment} (`roost status`)", markup=False)


build_app.command("logs")(build_logs)
build_app.command("cancel")(cancel)
build_app.command("show")(show)

__all__ = ["build_app"]
