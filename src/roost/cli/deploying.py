"""``roost deploy`` and ``roost rollback``: start a rollout and follow it to its end.

Both ask the running ``roost serve`` (the control plane) to start the rollout, then watch it
with a live view until it is promoted (exit 0), aborted (exit 1, with the reason and the abort
timeline) or holds for a human (exit 3: paused, or waiting for approval). ``--detach`` returns
as soon as the rollout has started. Interrupting the watch leaves the rollout running: it
belongs to the control plane, not to the terminal.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from roost.cli._api import api_url, call
from roost.cli._inputs import env_assignments, part
from roost.cli._live import EXIT_WAITING, reason_line, watch
from roost.cli._options import ApiOpt, EnvOpt, ProjectOpt
from roost.cli._output import EXIT_FAILURE, console, err_console, fail
from roost.cli._people import AsOpt, who

DetachOpt = Annotated[
    bool, typer.Option("--detach", "-d", help="Return once the rollout has started.")
]


def _abort_lines(view: dict[str, Any]) -> list[str]:
    abort = view.get("abort") or {}
    shown = []
    for key, label in (
        ("fault_began_at", "fault began"),
        ("detected_at", "detected"),
        ("traffic_reverted_at", "traffic reverted"),
    ):
        if abort.get(key):
            shown.append(f"  {label + ':':<18}{abort[key]}")
    return shown


def follow(base: str, view: dict[str, Any], *, detach: bool) -> None:
    """Print what started, watch it unless ``detach``, and exit with the rollout's outcome."""
    rollout_id = view["id"]
    kind = "rollback" if view.get("kind") == "rollback" else "rollout"
    console.print(
        f"{kind} {rollout_id}: {view['service']} {view.get('from_release') or '—'} → "
        f"{view['to_release']} ({view.get('strategy')}, {view['environment']}), requested by "
        f"{view.get('requested_by')}",
        markup=False,
    )
    if view.get("override"):
        console.print(f"override (audited): {view['override']}", markup=False)
    if view.get("state") == "awaiting_approval":
        err_console.print(
            f"roost: {rollout_id} waits for approval ({view.get('waiting')}); "
            f"someone else runs `roost approve {rollout_id}`",
            markup=False,
        )
        raise typer.Exit(EXIT_WAITING)
    if detach:
        console.print(f"follow it with `roost rollout status {rollout_id}`", markup=False)
        return
    try:
        final = watch(base, rollout_id)
    except KeyboardInterrupt:
        err_console.print(
            f"roost: stopped watching; {rollout_id} goes on (`roost rollout status {rollout_id}`)",
            markup=False,
        )
        raise typer.Exit(130) from None
    line = reason_line(final)
    state = final.get("state")
    if state == "promoted":
        console.print(line, markup=False)
        return
    for extra in _abort_lines(final):
        console.print(extra, markup=False)
    err_console.print(f"roost: {rollout_id} {line}", markup=False)
    raise typer.Exit(EXIT_WAITING if state in ("paused", "awaiting_approval") else EXIT_FAILURE)


def _overrides(set_env: list[str] | None) -> dict[str, str]:
    return env_assignments(set_env)


def deploy(
    service: Annotated[str, typer.Argument(help="Service to deploy.")],
    project: ProjectOpt = None,
    api: ApiOpt = None,
    environment: EnvOpt = None,
    release: Annotated[
        str | None, typer.Option(help="Deploy this release (default: cut one from roost.yaml).")
    ] = None,
    set_env: Annotated[
        list[str] | None,
        typer.Option("--set-env", help="KEY=VALUE added to the new release's environment."),
    ] = None,
    approve: Annotated[
        bool,
        typer.Option(
            "--approve",
            help="Count your own approval where the environment needs one (refused where four "
            "eyes applies: then someone else runs `roost approve`).",
        ),
    ] = False,
    override_budget: Annotated[
        str | None,
        typer.Option(
            "--override-budget",
            help="REASON: deploy although the error budget is spent (audited).",
            show_default=False,
        ),
    ] = None,
    override_scan: Annotated[
        str | None,
        typer.Option(
            "--override-scan",
            help="REASON: deploy although the vulnerability gate refuses (audited).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        str | None,
        typer.Option(
            "--force",
            help="REASON: deploy although the release is not promoted and soaked in the "
            "environment's promote_from (audited).",
            show_default=False,
        ),
    ] = None,
    detach: DetachOpt = False,
    as_: AsOpt = None,
) -> None:
    """Release SERVICE and roll it out progressively, with a live view until it ends.

    In an environment with promote_from: X, the default release is the one X runs."""
    if override_budget is not None and not override_budget.strip():
        fail("--override-budget needs a reason", hint='e.g. --override-budget "the fix"', code=2)
    if override_scan is not None and not override_scan.strip():
        fail("--override-scan needs a reason", hint='e.g. --override-scan "hotfix"', code=2)
    if force is not None and not force.strip():
        fail("--force needs a reason", hint='e.g. --force "hotfix"', code=2)
    base = api_url(api, project)
    body = {
        "service": service,
        "environment": environment,
        "release": release,
        "env": _overrides(set_env),
        "approve": approve,
        "actor": who(as_),
        "override_budget": override_budget,
        "override_scan": override_scan,
        "force": force,
    }
    view = call("POST", f"{base}/api/v1/rollouts", json=body, timeout=120)
    follow(base, view, detach=detach)


def promote(
    release: Annotated[str, typer.Argument(help="Release to promote, e.g. web-r3.")],
    to: Annotated[
        str, typer.Option("--to", help="Environment to promote it to (its promote_from decides).")
    ],
    project: ProjectOpt = None,
    api: ApiOpt = None,
    force: Annotated[
        str | None,
        typer.Option(
            "--force",
            help="REASON: promote although the release is not promoted and soaked in the "
            "environment's promote_from (audited).",
            show_default=False,
        ),
    ] = None,
    detach: DetachOpt = False,
    as_: AsOpt = None,
) -> None:
    """Roll RELEASE out to the environment --to, which accepts it only once it is promoted and
    healthy in the environment it promotes from for its soak time."""
    if force is not None and not force.strip():
        fail("--force needs a reason", hint='e.g. --force "hotfix"', code=2)
    base = api_url(api, project)
    found = call("GET", f"{base}/api/v1/releases/{part(release)}")
    body = {
        "service": found["service"],
        "environment": to,
        "release": found["id"],
        "actor": who(as_),
        "force": force,
    }
    view = call("POST", f"{base}/api/v1/rollouts", json=body, timeout=120)
    follow(base, view, detach=detach)


def rollback(
    service: Annotated[str, typer.Argument(help="Service to roll back.")],
    project: ProjectOpt = None,
    api: ApiOpt = None,
    environment: EnvOpt = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Release to go back to (default: the one before this one)."),
    ] = None,
    fast: Annotated[
        bool, typer.Option("--fast", help="Straight to 100% instead of the canary steps.")
    ] = False,
    force: Annotated[
        str | None,
        typer.Option(
            "--force",
            help="REASON: roll back even across an incompatible schema (audited).",
            show_default=False,
        ),
    ] = None,
    detach: DetachOpt = False,
    as_: AsOpt = None,
) -> None:
    """Go back to an earlier release: its code, config and secrets together.

    Refused when the release cannot run on the environment's schema (the reason names the
    migration that blocks it); --force REASON overrides, and the override is audited.
    """
    if force is not None and not force.strip():
        fail("--force needs a reason", hint='e.g. --force "restoring from backup"', code=2)
    base = api_url(api, project)
    body = {
        "environment": environment,
        "to": to,
        "fast": fast,
        "force": force,
        "actor": who(as_),
    }
    view = call("POST", f"{base}/api/v1/services/{part(service)}/rollback", json=body, timeout=120)
    follow(base, view, detach=detach)
