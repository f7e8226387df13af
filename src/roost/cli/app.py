"""The Typer application: global options and the command list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import roost
from roost._util.processes import keep_files_private
from roost.cli import (
    applying,
    deploying,
    logs,
    operating,
    quarantines,
    releases,
    rollouts,
    serving,
    specs,
    state,
    status,
)
from roost.cli._api import CA_ENV, trust_ca, use_token
from roost.cli._output import err_console
from roost.cli.access import role_app, token_app
from roost.cli.artifacts import artifacts_app
from roost.cli.auditing import audit_app
from roost.cli.building import build_app
from roost.cli.builds import builds
from roost.cli.doctoring import doctor
from roost.cli.eventing import events_app
from roost.cli.hooks import hooks_app
from roost.cli.identity import identity_app
from roost.cli.leases import lease_app, lock_app
from roost.cli.scanning import sbom, scan, vulndb_app
from roost.cli.schedules import schedule_app
from roost.cli.secret_store import secret_app
from roost.cli.slos import alerts_app, slo_app

app = typer.Typer(
    name="roost",
    help="roost — a self-hosted delivery loop: release, progressive rollout, watch, rollback.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"roost {roost.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    cacert: Annotated[
        Path | None,
        typer.Option(
            "--cacert",
            envvar=CA_ENV,
            show_default=False,
            help="Verify an https roost API against this PEM CA file (default: the CA the "
            "project's running API recorded, else the system's).",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="API token for this call (default: $ROOST_TOKEN, then the project owner's "
            "token in .roost/auth/token).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """roost — a self-hosted delivery loop."""
    trust_ca(cacert)
    use_token(token)


app.command("validate")(specs.validate)
app.command("schema")(specs.schema)
app.command("diff")(applying.diff)
app.command("apply")(applying.apply)
app.command("serve")(serving.serve)
app.command("status")(status.status)
app.command("up")(operating.up)
app.command("down")(operating.down)
app.command("ps")(operating.ps)
app.command("start")(operating.start)
app.command("weights")(operating.weights)
app.command("stop")(operating.stop)
app.command("logs")(logs.logs)
app.command("agent", hidden=True)(operating.agent)
app.add_typer(events_app, name="events")
app.add_typer(audit_app, name="audit")
app.add_typer(schedule_app, name="schedule")
artifacts_app.command("quarantine")(quarantines.quarantine)
artifacts_app.command("release")(quarantines.release)
artifacts_app.command("quarantined")(quarantines.quarantined)
app.command("deploy")(deploying.deploy)
app.command("rollback")(deploying.rollback)
app.command("promote")(deploying.promote)
app.command("approve")(rollouts.approve)
app.command("history")(rollouts.history)
app.add_typer(rollouts.rollout_app, name="rollout")
app.add_typer(releases.release_app, name="release")
app.add_typer(secret_app, name="secret")
app.add_typer(state.db_app, name="db")
app.add_typer(build_app, name="build")
app.command("builds")(builds)
app.add_typer(hooks_app, name="hooks")
app.add_typer(artifacts_app, name="artifacts")
app.add_typer(lease_app, name="lease")
app.add_typer(lock_app, name="lock")
app.command("sbom")(sbom)
app.command("scan")(scan)
app.add_typer(vulndb_app, name="vulndb")
app.command("doctor")(doctor)
app.add_typer(slo_app, name="slo")
app.add_typer(alerts_app, name="alerts")
app.add_typer(identity_app, name="identity")
app.add_typer(token_app, name="token")
app.add_typer(role_app, name="role")


def main() -> None:
    """Entry point. Commands turn user errors into one line (see ``_output.user_errors``)."""
    # Before anything is written: .roost/ holds state, logs and artifacts for this user only.
    keep_files_private()
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("roost: interrupted", markup=False)
        raise SystemExit(130) from None
