"""``roost rollout status|pause|resume|promote|abort``, ``roost approve`` and ``roost history``.

A rollout is named by its id or by its service (the service's active rollout, else its latest
one). Commands go to the running ``roost serve``, which applies them at once: an abort has moved
all traffic back to stable by the time the command returns.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from roost.cli._api import act_as, api_url, call
from roost.cli._formats import FormatOpt, IntervalOpt, chosen, emit, watching
from roost.cli._inputs import part
from roost.cli._live import EXIT_WAITING, finished, reason_line, render, timeline_line, watch
from roost.cli._options import ApiOpt, EnvOpt, JsonOpt, ProjectOpt
from roost.cli._output import console, fail
from roost.cli._people import AsOpt
from roost.cli._tables import Table
from roost.cli.deploying import _abort_lines

rollout_app = typer.Typer(
    help="Look at and steer progressive rollouts (by rollout id or service name).",
    no_args_is_help=True,
)

WhatArg = Annotated[
    str | None,
    typer.Argument(help="Rollout id, or a service (its active, else latest, rollout)."),
]
ReasonOpt = Annotated[str, typer.Option("--reason", "-m", help="Why, for the timeline.")]


def _find(base: str, what: str | None, environment: str | None) -> dict[str, Any]:
    if what is None:
        active = call("GET", f"{base}/api/v1/rollouts?active=true")
        if len(active) != 1:
            fail(
                f"{len(active)} rollouts are active; say which",
                hint="roost rollout status ROLLOUT|SERVICE",
                code=2,
            )
        what = str(active[0]["id"])
    params = {"environment": environment} if environment else None
    found: dict[str, Any] = call("GET", f"{base}/api/v1/rollouts/find/{part(what)}", params=params)
    return found


@rollout_app.command("status")
def status(
    what: WhatArg = None,
    project: ProjectOpt = None,
    api: ApiOpt = None,
    environment: EnvOpt = None,
    follow: Annotated[
        bool, typer.Option("--watch", "-w", help="Follow it until it ends or holds.")
    ] = False,
    as_json: JsonOpt = False,
    output: FormatOpt = None,
    interval: IntervalOpt = 2.0,
) -> None:
    """Where a rollout is: step, weights, live metrics, latest verdict, and its timeline."""
    fmt = chosen(output, as_json)
    base = api_url(api, project)
    rollout_id = _find(base, what, environment)["id"]
    if follow and fmt is not None:
        from roost.cli._shapes import RolloutStatus

        def fetch() -> Any:
            view = call("GET", f"{base}/api/v1/rollouts/{part(rollout_id)}/status")
            return RolloutStatus.model_validate(view)

        # Until it ends or holds, as the table's --watch does.
        watching(
            fetch,
            lambda _: None,
            fmt,
            interval=interval,
            until=lambda shape: finished(shape.model_dump()),
        )
        return
    if follow:
        view = watch(base, rollout_id)
        console.print(reason_line(view), markup=False)
        return
    view = call("GET", f"{base}/api/v1/rollouts/{part(rollout_id)}/status")
    if fmt is not None:
        from roost.cli._shapes import RolloutStatus

        emit(RolloutStatus.model_validate(view), fmt)
        return
    for entry in view.get("timeline", []):
        console.print(timeline_line(entry), markup=False, highlight=False, soft_wrap=True)
    try:
        ps = call("GET", f"{base}/api/v1/ps", timeout=5)
    except typer.Exit:
        ps = None
    console.print(render(view, ps))
    for line in _abort_lines(view):
        console.print(line, markup=False)
    console.print(reason_line(view), markup=False)


def _command(
    what: str | None,
    action: str,
    *,
    project: Any,
    api: str | None,
    environment: str | None,
    body: dict[str, Any],
) -> dict[str, Any]:
    base = api_url(api, project)
    rollout_id = _find(base, what, environment)["id"]
    view: dict[str, Any] = call(
        "POST", f"{base}/api/v1/rollouts/{part(rollout_id)}/{action}", json=body, timeout=60
    )
    return view


@rollout_app.command("pause")
def pause(
    what: WhatArg = None,
    project: ProjectOpt = None,
    api: ApiOpt = None,
    environment: EnvOpt = None,
    reason: ReasonOpt = "",
    as_: AsOpt = None,
) -> None:
    """Hold a rollout at its current weight (analysis keeps running and can still abort)."""
    act_as(as_)
    body = {"reason": reason}
    view = _command(what, "pause", project=project, api=api, environment=environment, body=body)
    console.print(f"{view['id']}: {reason_line(view)}", markup=False)


@rollout_app.command("resume")
def resume(
    what: WhatArg = None,
    project: ProjectOpt = None,
    api: ApiOpt = None,
    environment: EnvOpt = None,
    reason: ReasonOpt = "",
    as_: AsOpt = None,
) -> None:
    """Continue a paused rollout."""
    act_as(as_)
    body = {"reason": reason}
    view = _command(what, "resume", project=project, api=api, environment=environment, body=body)
    console.print(f"{view['id']}: resumed ({view['state']})", markup=False)


@rollout_app.command("promote")
def promote(
    what: WhatArg = None,
    project: ProjectOpt = None,
    api: ApiOpt = None,
    environment: EnvOpt = None,
    full: Annotated[
        bool, typer.Option("--full", help="Skip every remaining step: straight to 100%.")
    ] = False,
    reason: ReasonOpt = "",
    as_: AsOpt = None,
) -> None:
    """Move a rollout past its current step (a pause, an inconclusive analysis)."""
    act_as(as_)
    body = {"reason": reason, "full": full}
    view = _command(what, "promote", project=project, api=api, environment=environment, body=body)
    console.print(f"{view['id']}: promoted past the step ({view['state']})", markup=False)


@rollout_app.command("abort")
def abort(
    what: WhatArg = None,
    project: ProjectOpt = None,
    api: ApiOpt = None,
    environment: EnvOpt = None,
    reason: ReasonOpt = "",
    as_: AsOpt = None,
) -> None:
    """Send all traffic back to stable now (one router update) and end the rollout."""
    act_as(as_)
    body = {"reason": reason}
    view = _command(what, "abort", project=project, api=api, environment=environment, body=body)
    console.print(f"{view['id']}: {reason_line(view)}", markup=False)
    for line in _abort_lines(view):
        console.print(line, markup=False)


@rollout_app.command("list")
def list_rollouts(
    project: ProjectOpt = None,
    api: ApiOpt = None,
    active: Annotated[bool, typer.Option(help="Only rollouts in progress.")] = True,
    output: FormatOpt = None,
) -> None:
    """Rollouts in progress (``--no-active``: all, newest first)."""
    fmt = chosen(output)
    base = api_url(api, project)
    found = call("GET", f"{base}/api/v1/rollouts?active={'true' if active else 'false'}")
    if fmt is not None:
        from roost.cli._shapes import RolloutList

        emit(RolloutList.model_validate({"items": found}), fmt)
        return
    table = Table("id", "service", "env", "from", "to", "state", "step", title="rollouts")
    for r in found:
        table.add_row(
            r["id"],
            r["service"],
            r["environment"],
            r.get("from_release") or "—",
            r["to_release"],
            r["state"],
            str(r["step"]),
        )
    console.print(table)


def approve(
    rollout: Annotated[str, typer.Argument(help="The rollout id that waits for approval.")],
    project: ProjectOpt = None,
    api: ApiOpt = None,
    as_: AsOpt = None,
) -> None:
    """Approve a deploy someone else requested (four eyes); it starts with enough approvals."""
    act_as(as_)
    base = api_url(api, project)
    view = call(
        "POST",
        f"{base}/api/v1/rollouts/{part(rollout)}/approve",
        json={},
        timeout=120,
    )
    if view["state"] == "awaiting_approval":
        console.print(f"{view['id']}: approved; still {view.get('waiting')}", markup=False)
        raise typer.Exit(EXIT_WAITING)
    console.print(
        f"{view['id']}: approved by {', '.join(view.get('approvals') or [])}; the rollout of "
        f"{view['to_release']} has started (`roost rollout status {view['id']} --watch`)",
        markup=False,
    )


def history(
    service: Annotated[str, typer.Argument(help="Service name.")],
    project: ProjectOpt = None,
    api: ApiOpt = None,
    environment: EnvOpt = None,
    output: FormatOpt = None,
) -> None:
    """Every rollout of SERVICE, newest first: what moved where, how it ended, and why."""
    fmt = chosen(output)
    base = api_url(api, project)
    params = {"environment": environment} if environment else None
    rows = call("GET", f"{base}/api/v1/services/{part(service)}/history", params=params)
    if fmt is not None:
        from roost.cli._shapes import History

        emit(History.model_validate({"service": service, "items": rows}), fmt)
        return
    table = Table("started", "id", "env", "kind", "from → to", "by", "state", "why", title=service)
    for row in rows:
        why = row.get("reason") or row.get("override") or ""
        table.add_row(
            row["created_at"][:19].replace("T", " "),
            row["id"],
            row["environment"],
            row["kind"],
            f"{row.get('from_release') or '—'} → {row['to_release']}",
            row["requested_by"],
            row["state"],
            why if len(why) <= 70 else why[:67] + "...",
        )
    console.print(table)
