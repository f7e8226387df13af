"""``roost events``: the audit log (as before: the events, newest first), and the bus around
it — ``dlq list|show|replay|purge``, ``trace ID``, ``triggers`` and ``triggers resume NAME``.
The bus commands go through the running control plane's API (it delivers; the CLI asks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.tree import Tree

from roost.cli import state
from roost.cli._api import act_as, api_url, call
from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._inputs import part
from roost.cli._options import ApiOpt, DatabaseOpt, JsonOpt, LimitOpt, ProjectOpt
from roost.cli._output import console, fail
from roost.cli._people import AsOpt
from roost.cli._tables import Table

if TYPE_CHECKING:
    from pydantic import BaseModel

events_app = typer.Typer(
    help="The audit log, and the event bus: dead letters, traces, triggers.",
    invoke_without_command=True,
)
dlq_app = typer.Typer(help="The dead-letter queue: deliveries the retry policy gave up on.")
triggers_app = typer.Typer(
    help="roost.yaml's triggers and their loop-guard suspensions.", invoke_without_command=True
)
events_app.add_typer(dlq_app, name="dlq")
events_app.add_typer(triggers_app, name="triggers")

TriggerOpt = Annotated[str | None, typer.Option("--trigger", "-t", help="Only this trigger.")]
AllOpt = Annotated[bool, typer.Option("--all", help="Every dead delivery (of --trigger).")]
IdsArg = Annotated[list[str] | None, typer.Argument(help="Delivery ids (or unique prefixes).")]


@events_app.callback()
def events(
    ctx: typer.Context,
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
    type_prefix: Annotated[
        str | None, typer.Option("--type", help="Only types starting with this.")
    ] = None,
    subject: Annotated[str | None, typer.Option(help="Only this subject.")] = None,
    limit: LimitOpt = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="CloudEvents JSON, one per line.")
    ] = False,
    output: FormatOpt = None,
) -> None:
    """The audit log: every event roost emitted, newest first (or a subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    state.events(
        project=project,
        database_url=database_url,
        type_prefix=type_prefix,
        subject=subject,
        limit=limit,
        as_json=as_json,
        output=output,
    )


def _emitted(found: dict[str, Any], shape: str, output: str | None, as_json: bool) -> bool:
    """Print the API's document as ``shape`` if a format was asked for (``--json`` is
    ``-o json``); False: show it for people."""
    fmt = chosen(output, as_json)
    if fmt is None:
        return False
    from roost.cli._shapes import SHAPES

    model: type[BaseModel] = SHAPES[shape]
    emit(model.model_validate(found), fmt)
    return True


@dlq_app.command("list")
def dlq_list(
    trigger: TriggerOpt = None,
    limit: LimitOpt = 100,
    as_json: JsonOpt = False,
    output: FormatOpt = None,
    project: ProjectOpt = None,
    api: ApiOpt = None,
) -> None:
    """Dead deliveries, oldest first."""
    chosen(output)  # a bad -o is refused before the API is asked
    params = {"limit": str(limit)} | ({"trigger": trigger} if trigger else {})
    found = call("GET", f"{api_url(api, project)}/api/v1/events/dlq", params=params)
    if _emitted(found, "events dlq list", output, as_json):
        return
    table = Table("id", "trigger", "event", "type", "attempts", "last error", title="dead letters")
    for d in found["deliveries"]:
        error = str(d.get("last_error") or "")
        table.add_row(
            d["id"], d["trigger"], d["event_id"], d["event_type"], str(d["attempts"]),
            error if len(error) <= 60 else error[:57] + "...",
        )  # fmt: skip
    console.print(table)


@dlq_app.command("show")
def dlq_show(
    delivery: Annotated[str, typer.Argument(help="A delivery id (or unique prefix).")],
    as_json: JsonOpt = False,
    output: FormatOpt = None,
    project: ProjectOpt = None,
    api: ApiOpt = None,
) -> None:
    """One delivery: its event, every attempt, the last error."""
    chosen(output)
    d = call("GET", f"{api_url(api, project)}/api/v1/events/dlq/{part(delivery)}")
    if _emitted(d, "events dlq show", output, as_json):
        return
    console.print(
        f"delivery {d['id']} of event {d['event_id']} ({d['event_type']}) to trigger "
        f"{d['trigger']}: {d['state']} after {d['attempts']} attempt(s)",
        markup=False,
    )
    for a in d["attempt_log"]:
        status = "ok" if a["ok"] else "failed"
        console.print(
            f"  #{a['attempt']} {a['at']} {status} status={a['status']} "
            f"{a['duration_ms']} ms {a['detail'] or ''}",
            markup=False,
        )
    console.print(json.dumps(d["event"], indent=2, sort_keys=True), markup=False)


def _act_on_dead(
    action: str,
    ids: list[str] | None,
    trigger: str | None,
    all_: bool,
    *,
    project: Path | None,
    api: str | None,
    as_: str | None,
) -> int:
    """POST the selection to ``/events/dlq/{action}``; how many deliveries it touched."""
    if not ids and not all_:
        fail("name the deliveries to act on, or pass --all", hint="`roost events dlq list`", code=2)
    act_as(as_)
    body = {"ids": ids or [], "trigger": trigger, "all": all_}
    done = call("POST", f"{api_url(api, project)}/api/v1/events/dlq/{action}", json=body)
    return int(done["replayed" if action == "replay" else "purged"])


@dlq_app.command("replay")
def dlq_replay(
    ids: IdsArg = None,
    trigger: TriggerOpt = None,
    all_: AllOpt = False,
    project: ProjectOpt = None,
    api: ApiOpt = None,
    as_: AsOpt = None,
) -> None:
    """Deliver dead deliveries again (after the fix), with a fresh retry budget."""
    count = _act_on_dead("replay", ids, trigger, all_, project=project, api=api, as_=as_)
    console.print(f"replaying {count} delivery(ies)", markup=False)


@dlq_app.command("purge")
def dlq_purge(
    ids: IdsArg = None,
    trigger: TriggerOpt = None,
    all_: AllOpt = False,
    project: ProjectOpt = None,
    api: ApiOpt = None,
    as_: AsOpt = None,
) -> None:
    """Delete dead deliveries for good."""
    count = _act_on_dead("purge", ids, trigger, all_, project=project, api=api, as_=as_)
    console.print(f"purged {count} delivery(ies)", markup=False)


@events_app.command("trace")
def trace(
    event: Annotated[str, typer.Argument(help="An event id (or unique prefix).")],
    as_json: JsonOpt = False,
    output: FormatOpt = None,
    project: ProjectOpt = None,
    api: ApiOpt = None,
) -> None:
    """The tree of what followed from an event: triggers, attempts, actions, new events."""
    chosen(output)
    found = call("GET", f"{api_url(api, project)}/api/v1/events/trace/{part(event)}")
    if _emitted(found, "events trace", output, as_json):
        return
    tree = Tree(_event_label(found["root"]))
    _grow(tree, found["root"])
    console.print(tree)


def _event_label(node: dict[str, Any]) -> str:
    e = node["event"]
    mark = "  ◀" if node.get("asked") else ""
    subject = f" {e['subject']}" if e.get("subject") else ""
    return f"event {e['type']}{subject} [dim]{e['id']} {e['time']}[/dim]{mark}"


def _grow(tree: Tree, node: dict[str, Any]) -> None:
    for d in node["deliveries"]:
        colour = {"delivered": "green", "dead": "red", "pending": "yellow"}.get(d["state"], "dim")
        branch = tree.add(
            f"trigger {d['trigger']} → [{colour}]{d['state']}[/{colour}] "
            f"[dim]delivery {d['id']}, depth {d['depth']}[/dim]"
        )
        for a in d["attempts"]:
            outcome = "[green]ok[/green]" if a["ok"] else "[red]failed[/red]"
            status = f" {a['status']}" if a["status"] is not None else ""
            detail = f" — {a['detail'][:80]}" if a.get("detail") and not a["ok"] else ""
            branch.add(
                f"attempt {a['attempt']}: {outcome}{status} in {a['duration_ms']} ms "
                f"[dim]{a['at']}[/dim]{detail}"
            )
        for child in d["caused"]:
            _grow(branch.add(_event_label(child)), child)
    for child in node["caused"]:
        _grow(tree.add(_event_label(child)), child)


@triggers_app.callback()
def triggers(
    ctx: typer.Context,
    as_json: JsonOpt = False,
    output: FormatOpt = None,
    project: ProjectOpt = None,
    api: ApiOpt = None,
) -> None:
    """roost.yaml's triggers: their sinks, deliveries by state, suspensions."""
    if ctx.invoked_subcommand is not None:
        return
    chosen(output)
    found = call("GET", f"{api_url(api, project)}/api/v1/events/triggers")
    if _emitted(found, "events triggers", output, as_json):
        return
    table = Table("trigger", "sink", "state", "deliveries", title="triggers")
    for t in found["triggers"]:
        shown = ", ".join(f"{k} {v}" for k, v in sorted(t["deliveries"].items()))
        status = f"suspended: {t['reason']}" if t["suspended"] else "active"
        table.add_row(t["name"], t["sink"], status, shown)
    console.print(table)


@triggers_app.command("resume")
def resume(
    name: Annotated[str, typer.Argument(help="The suspended trigger.")],
    project: ProjectOpt = None,
    api: ApiOpt = None,
    as_: AsOpt = None,
) -> None:
    """Lift a loop guard's suspension (fix the loop first)."""
    act_as(as_)
    body: dict[str, Any] = {}
    done = call(
        "POST", f"{api_url(api, project)}/api/v1/events/triggers/{part(name)}/resume", json=body
    )
    word = "resumed" if done["resumed"] else "was not suspended"
    console.print(f"trigger {done['trigger']} {word}", markup=False)
