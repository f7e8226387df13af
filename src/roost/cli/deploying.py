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

from roost.cli._api import act_as, api_url, call
from roost.cli._inputs import env_assignments, part
from roost.cli._live import EXIT_WAITING, reason_line, watch
from roost.cli._options import ApiOpt, EnvOpt, ProjectOpt
from roost.cli._output import EXIT_FAILURE, console, err_console, fail
from roost.cli._people import AsOpt
from roost.cli._secrets import secret_env

DetachOpt = Annotated[
    bool, typer.Option("--detach", "-d", help="Return once the rollout has started.")
]


def _reason_opt(flag: str, does: str) -> Any:
    """An option that takes a REASON to override a refusal: the reason is audited."""
    return typer.Option(flag, help=f"REASON: {does} (audited).", show_default=False)


def _unsoaked_opt(verb: str) -> Any:
    """``--force`` past the promotion gate (the release must be promoted and soaked first)."""
    return _reason_opt(
        "--force",
        f"{verb} although the release is not promoted and soaked in the environment's promote_from",
    )


def _need_reason(value: str | None, flag: str, example: str) -> None:
    """An override without a reason is refused: the audit trail must say why."""
    if value is not None and not value.strip():
        fail(f"{flag} needs a reason", hint=f'e.g. {flag} "{example}"', code=2)


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
        _reason_opt("--override-budget", "deploy although the error budget is spent"),
    ] = None,
    override_scan: Annotated[
        str | None,
        _reason_opt("--override-scan", "deploy although the vulnerability gate refuses"),
    ] = None,
    force: Annotated[
        str | None,
        _unsoaked_opt("deploy"),
    ] = None,
    detach: DetachOpt = False,
    as_: AsOpt = None,
) -> None:
    """Release SERVICE and roll it out progressively, with a live view until it ends.

    In an environment with promote_from: X, the default release is the one X runs."""
    _need_reason(override_budget, "--override-budget", "the fix")
    _need_reason(override_scan, "--override-scan", "hotfix")
    _need_reason(force, "--force", "hotfix")
    act_as(as_)
    base = api_url(api, project)
    body = {
        "service": service,
        "environment": environment,
        "release": release,
        "env": _overrides(set_env),
        # A new release reads env: secrets from this shell (none when deploying one by id).
        "secret_env": {} if release else secret_env(project, [service]),
        "approve": approve,
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
        _unsoaked_opt("promote"),
    ] = None,
    detach: DetachOpt = False,
    as_: AsOpt = None,
) -> None:
    """Roll RELEASE out to the environment --to, which accepts it only once it is promoted and
    healthy in the environment it promotes from for its soak time."""
    _need_reason(force, "--force", "hotfix")
    act_as(as_)
    base = api_url(api, project)
    found = call("GET", f"{base}/api/v1/releases/{part(release)}")
    body = {
        "service": found["service"],
        "environment": to,
        "release": found["id"],
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
        _reason_opt("--force", "roll back even across an incompatible schema"),
    ] = None,
    detach: DetachOpt = False,
    as_: AsOpt = None,
) -> None:
    """Go back to an earlier release: its code, config and secrets together.

    Refused when the release cannot run on the environment's schema (the reason names the
    migration that blocks it); --force REASON overrides, and the override is audited.
    """
    _need_reason(force, "--force", "restoring from backup")
    act_as(as_)
    base = api_url(api, project)
    body = {
        "environment": environment,
        "to": to,
        "fast": fast,
        "force": force,
    }
    view = call("POST", f"{base}/api/v1/services/{part(service)}/rollback", json=body, timeout=120)
    follow(base, view, detach=detach)
