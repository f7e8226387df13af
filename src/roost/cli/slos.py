"""``roost slo status|history|rules|import|export`` and ``roost alerts``.

``status`` and ``alerts`` ask the running ``roost serve`` (its SLO loop's latest round); with no
API running they evaluate here, straight from the agent's telemetry. ``history`` reads the alert
events from the state store; ``rules``, ``import`` and ``export`` only need roost.yaml.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from roost._util import event_catalog as events
from roost.cli._api import api_url, call, verify_for
from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import ApiOpt, JsonOpt, LimitOpt, OutputOpt, ProjectOpt
from roost.cli._output import EXIT_INVALID, console, err_console, fail, user_errors, write_output
from roost.cli._people import AsOpt, who
from roost.cli._tables import Table
from roost.control.paths import STATE_DIR, read_api_file, resolve_root
from roost.spec.durations import format_span

if TYPE_CHECKING:
    from roost.control.workspace import Workspace
    from roost.slo import SloTarget

ServiceArg = Annotated[str | None, typer.Argument(help="Only this service.", show_default=False)]

slo_app = typer.Typer(
    help="Service level objectives: status, alert history, Prometheus rules, OpenSLO.",
    no_args_is_help=True,
)
alerts_app = typer.Typer(
    help="The SLO alerts firing now, and silences.", invoke_without_command=True
)


# -- helpers ---------------------------------------------------------------------------------------


def _running_api(api: str | None, project: Path | None) -> str | None:
    """The URL of a running API, or None when none answers (then we evaluate here)."""
    import httpx

    if api is not None:
        return api_url(api, project)  # asked for explicitly: failures are errors, no fallback
    if not os.environ.get("ROOST_API_URL") and not read_api_file(resolve_root(project) / STATE_DIR):
        return None  # this project has no running API
    base = api_url(api, project)
    try:
        httpx.get(f"{base}/healthz", timeout=2.0, verify=verify_for(base))
    except httpx.HTTPError:
        return None
    return base


def _workspace(project: Path | None) -> Workspace:
    from roost.control.workspace import open_workspace

    with user_errors():
        return open_workspace(project)


def _local_watcher(ws: Workspace) -> Any:
    from roost.control.slos.watching import SloWatcher

    return SloWatcher(ws, agent_dir=ws.state_dir / "agent")


def _check_service(ws: Workspace, service: str | None) -> None:
    names = [s.name for s in ws.project.services]
    if service is not None and service not in names:
        fail(f"no service {service!r} in {ws.project_file.name}", hint=", ".join(names), code=2)


def _percent(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _burn(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}x"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds <= 0:
        return "exhausted"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


# -- roost slo status ------------------------------------------------------------------------------


@slo_app.command("status")
def status(
    service: ServiceArg = None,
    project: ProjectOpt = None,
    api: ApiOpt = None,
    as_json: JsonOpt = False,
    output: FormatOpt = None,
) -> None:
    """Per SLO: objective, SLI now, budget remaining, burn rate per window, time to
    exhaustion and the alert tiers that fire. Exits 1 when an SLO cannot be evaluated."""
    fmt = chosen(output, as_json)
    base = _running_api(api, project)
    if base is not None:
        query = "" if service is None else f"?service={service}"
        data = call("GET", f"{base}/api/v1/slos{query}")
    else:
        from roost.control.slos.reports import report_json

        with _workspace(project) as ws:
            _check_service(ws, service)
            watcher = _local_watcher(ws)
            with user_errors():
                reports = watcher.evaluate(service=service)
                since = watcher.since()
            data = {
                "at": ws.clock.now().isoformat(),
                "slos": [report_json(r, since=since) for r in reports],
            }
    slos: list[dict[str, Any]] = data.get("slos", [])
    if fmt is not None:
        from roost.cli._shapes import SloStatus

        emit(SloStatus.model_validate(data), fmt)
    else:
        _status_table(slos, where=base or "evaluated here (no roost serve running)")
    errors = [s["error"] for s in slos if s.get("error")]
    for error in errors:
        err_console.print(f"roost: error: {error}", markup=False)
    if errors:
        raise typer.Exit(1)


def _status_table(slos: list[dict[str, Any]], *, where: str) -> None:
    if not slos:
        console.print("no SLOs (add `slos:` to a service in roost.yaml)", markup=False)
        return
    table = Table(
        "SLO", "objective", "SLI now", "budget left", "burn (window: rate)", "exhausted in",
        "firing", title=f"SLOs — {where}",
    )  # fmt: skip
    for slo in slos:
        burns = "  ".join(f"{b['window']}: {_burn(b['burn'])}" for b in slo.get("burns", []))
        firing = ", ".join(
            f"{t['name']} ({t['severity']})" for t in slo.get("tiers", []) if t["firing"]
        )
        table.add_row(
            f"{slo['service']}/{slo['slo']}",
            f"{slo['objective']:g}% / {slo['window']}",
            _percent(slo.get("sli")),
            _percent(slo.get("budget_remaining"), 1),
            "error" if slo.get("error") else burns,
            _duration(slo.get("exhaustion_seconds")),
            "[bold red]" + firing + "[/]" if firing else "—",
        )
    console.print(table)


# -- roost slo history -----------------------------------------------------------------------------


@slo_app.command("history")
def history(
    service: ServiceArg = None,
    project: ProjectOpt = None,
    limit: LimitOpt = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="CloudEvents JSON, one per line.")
    ] = False,
    output: FormatOpt = None,
) -> None:
    """Alert transitions (firing, resolved) from the audit log, newest first."""
    from roost.control.slos.watching import FIRING, RESOLVED

    fmt = chosen(output)

    with _workspace(project) as ws, user_errors():
        _check_service(ws, service)
        # Transitions recorded before the one prefix (roost.slo.*) are history too.
        found = sorted(
            (
                event
                for prefix in events.with_legacy(events.SLO)
                for event in ws.store.events.list(prefix, subject=service, limit=limit)
            ),
            key=lambda event: event.time,
            reverse=True,
        )[:limit]
    if fmt is not None:
        from roost.cli._shapes import SloHistory

        emit(SloHistory(items=[event.to_cloudevent() for event in found]), fmt)
        return
    if as_json:
        for event in found:
            typer.echo(json.dumps(event.to_cloudevent(), sort_keys=True))
        return
    table = Table("time", "event", "SLO", "tier", "detail", title=f"SLO history ({len(found)})")
    for event in found:
        data = event.data if isinstance(event.data, dict) else {}
        current = events.current_name(event.type)
        kind = {FIRING: "[bold red]firing[/]", RESOLVED: "[green]resolved[/]"}.get(
            current, current.removeprefix(events.SLO)
        )
        table.add_row(
            event.time.isoformat(timespec="seconds"),
            kind,
            f"{data.get('service', event.subject or '')}/{data.get('slo', '')}",
            str(data.get("tier", data.get("guard", ""))),
            str(data.get("reason", "")),
        )
    console.print(table)


# -- roost slo rules / import / export -------------------------------------------------------------


def _targets(project: Path | None, service: str | None) -> list[SloTarget]:
    from roost.control.slos.reports import project_targets
    from roost.control.workspace import find_project
    from roost.spec import load_project

    with user_errors():
        spec = load_project(find_project(project))
    names = [s.name for s in spec.services]
    if service is not None and service not in names:
        fail(f"no service {service!r} in roost.yaml", hint=", ".join(names), code=EXIT_INVALID)
    return project_targets(spec, service=service)


def _write(text: str, output: Path | None) -> None:
    write_output(text, output, hint="check the path", code=EXIT_INVALID)


@slo_app.command("rules")
def rules(service: ServiceArg = None, project: ProjectOpt = None, output: OutputOpt = None) -> None:
    """Prometheus recording and alerting rules equivalent to roost's own evaluation (for
    Prometheus' rule_files; check them with `promtool check rules`). Probe SLOs have none."""
    import yaml

    from roost.control.slos.reports import engine_for
    from roost.slo.rules import rule_groups

    groups: list[Any] = []
    for target in _targets(project, service):
        if target.slo.sli.kind == "probe":
            err_console.print(
                f"roost: note: {target.key}: probe SLIs are measured by roost itself, no rules",
                markup=False,
            )
            continue
        try:
            groups.extend(rule_groups([target], engine=engine_for(target))["groups"])
        except ValueError as exc:
            fail(f"{target.key}: {exc}", hint="fix the SLO's window or alerts", code=EXIT_INVALID)
    header = "# Generated by `roost slo rules`; regenerate instead of editing.\n"
    body = yaml.safe_dump({"groups": groups}, sort_keys=False, width=200)
    _write(header + body, output)


@slo_app.command("export")
def export(
    service: ServiceArg = None, project: ProjectOpt = None, output: OutputOpt = None
) -> None:
    """The project's SLOs as OpenSLO v1 (Service, SLI, SLO, AlertPolicy, AlertCondition), each
    SLO with its own alert conditions."""
    from roost.slo.openslo import export_openslo

    targets = _targets(project, service)
    if not targets:
        fail("no SLOs to export", hint="add `slos:` to a service in roost.yaml", code=EXIT_INVALID)
    try:
        text = export_openslo(targets)
    except ValueError as exc:
        fail(str(exc), hint="use windows in whole minutes", code=EXIT_INVALID)
    _write(text, output)


@slo_app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="An OpenSLO v1 YAML file (documents, or a list of objects).")
    ],
    output: OutputOpt = None,
    threshold_unit: Annotated[
        str | None,
        typer.Option(
            "--threshold-unit",
            help="Unit of thresholdMetric values (s or ms) when the metric's name does not say "
            "(OpenSLO gives them none).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Read OpenSLO v1 and print the equivalent roost.yaml `services: … slos:` (validated),
    each SLO with the alert conditions of its own alert policies; what roost cannot keep is
    listed on stderr."""
    import yaml

    from roost.slo.openslo import OpenSloError, import_openslo

    if threshold_unit not in (None, "s", "ms"):
        fail(
            f"--threshold-unit {threshold_unit!r} is not s or ms",
            hint="use --threshold-unit s or --threshold-unit ms",
            code=EXIT_INVALID,
        )
    try:
        text = file.read_text()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}", hint="check the path", code=EXIT_INVALID)
    try:
        imported = import_openslo(
            text,
            source=str(file),
            unit="s" if threshold_unit == "s" else "ms" if threshold_unit == "ms" else None,
        )
    except OpenSloError as exc:
        fail(str(exc), hint="see https://github.com/OpenSLO/OpenSLO", code=EXIT_INVALID)
    services: dict[str, list[dict[str, Any]]] = {}
    for target in imported.slos:
        services.setdefault(target.service, []).append(_slo_yaml(target.slo))
    for warning in imported.warnings:
        err_console.print(f"roost: note: {warning}", markup=False)
    doc = {"services": [{"name": name, "slos": slos} for name, slos in services.items()]}
    header = f"# roost.yaml SLOs imported from {file.name}; merge into your services.\n"
    _write(header + yaml.safe_dump(doc, sort_keys=False, width=100), output)


def _slo_yaml(slo: Any) -> dict[str, Any]:
    sli = slo.sli
    out_sli: dict[str, Any] = {"kind": sli.kind}
    if sli.kind == "ratio":
        out_sli["bad_status"] = sli.bad_status
    elif sli.kind == "latency":
        ms = sli.threshold.total_seconds() * 1000
        out_sli["threshold"] = f"{ms:g}ms"
    out: dict[str, Any] = {"name": slo.name}
    if slo.description:
        out["description"] = slo.description
    out.update({"objective": slo.objective, "window": format_span(slo.window), "sli": out_sli})
    if slo.alerts is not None:
        out["alerts"] = [
            {
                "name": a.name,
                "severity": a.severity,
                "burn_rate": a.burn_rate,
                "long_window": format_span(a.long_window),
                "short_window": format_span(a.short_window),
            }
            for a in slo.alerts
        ]
    return out


# -- roost alerts ----------------------------------------------------------------------------------


@alerts_app.callback()
def alerts(
    ctx: typer.Context,
    project: ProjectOpt = None,
    api: ApiOpt = None,
    as_json: JsonOpt = False,
    output: FormatOpt = None,
) -> None:
    """The SLO alerts firing now: tier, severity, since when, and silences that mute them."""
    if ctx.invoked_subcommand is not None:
        return
    fmt = chosen(output, as_json)
    base = _running_api(api, project)
    if base is not None:
        data = call("GET", f"{base}/api/v1/alerts")
    else:
        with _workspace(project) as ws:
            watcher = _local_watcher(ws)
            with user_errors():
                reports = watcher.evaluate()
                firing = watcher.firing(reports)
            now = ws.clock.now()
            data = {
                "at": now.isoformat(),
                "alerts": [a.to_json() for a in firing],
                "silences": [s.to_json() | {"active": s.active(now)} for s in watcher.silences()],
                "errors": [r.error for r in reports if r.error is not None],
            }
    if fmt is not None:
        from roost.cli._shapes import Alerts

        emit(Alerts.model_validate(data), fmt)
        return
    found = data.get("alerts", [])
    table = Table(
        "SLO", "tier", "severity", "since", "silenced", "why", title=f"alerts ({len(found)})"
    )
    for alert in found:
        table.add_row(
            f"{alert['service']}/{alert['slo']}",
            alert["tier"],
            alert["severity"],
            alert["since"][:19],
            ", ".join(alert.get("silenced_by") or []) or "—",
            alert.get("reason", ""),
        )
    console.print(table)
    active = [s for s in data.get("silences", []) if s.get("active")]
    for s in active:
        matchers = ",".join(f"{k}={v}" for k, v in s["matchers"].items())
        console.print(
            f"silence {s['id']}: {matchers} until {s['ends_at'][:19]} by {s['created_by']}: "
            f"{s['comment']}",
            markup=False,
        )
    for receiver in data.get("receivers", []):
        if receiver.get("failing_since"):
            state = f"FAILING since {receiver['failing_since'][:19]}: {receiver.get('last_error')}"
        elif receiver.get("last_delivered"):
            state = f"last delivered {receiver['last_delivered'][:19]}"
        else:
            state = "nothing sent yet"
        console.print(
            f"receiver {receiver['receiver']} ({receiver['kind']} {receiver['url']}): {state}",
            markup=False,
        )
    for error in data.get("errors", []):
        err_console.print(f"roost: warning: {error}", markup=False)


@alerts_app.command("silence")
def silence(
    match: Annotated[
        list[str],
        typer.Option(
            "--match",
            "-m",
            help="label=value (value ~regex); repeat. Labels: roost_service, "
            "roost_slo, tier, severity.",
        ),
    ],
    duration: Annotated[str, typer.Option("--for", help="How long, e.g. 2h.")] = "1h",
    comment: Annotated[str, typer.Option(help="Why (recorded with the silence).")] = "",
    project: ProjectOpt = None,
    as_: AsOpt = None,
) -> None:
    """Mute the notifications of matching alerts for a while (they still show, marked)."""
    from roost.alerts import Silence, SilenceError
    from roost.alerts import silences as silence_file
    from roost.control.slos.watching import silences_path
    from roost.spec.durations import parse_duration

    matchers = {}
    for item in match:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"--match {item!r} is not label=value", hint="e.g. -m roost_service=web", code=2)
        matchers[name.strip()] = value.strip()
    try:
        span = parse_duration(duration)
    except ValueError as exc:
        fail(f"--for {duration!r}: {exc}", hint="e.g. --for 2h", code=EXIT_INVALID)
    with _workspace(project) as ws:
        now = ws.clock.now()
        path = silences_path(ws)
        try:
            new = Silence(
                id=secrets.token_hex(4),
                matchers=matchers,
                starts_at=now,
                ends_at=now + span,
                created_by=who(as_),
                comment=comment,
            )
            kept = [s for s in silence_file.load(path) if s.ends_at > now]
            silence_file.save(path, [*kept, new])
        except SilenceError as exc:
            fail(str(exc), hint="e.g. -m roost_service=web -m tier=page-fast", code=EXIT_INVALID)
        ws.store.events.append(
            events.SLO_SILENCE_CREATED,
            source=events.SOURCE_CLI,
            subject=matchers.get("roost_service"),
            data=new.to_json(),
            actor=new.created_by,
        )
    console.print(
        f"silence {new.id} until {new.ends_at.isoformat(timespec='seconds')}", markup=False
    )


@alerts_app.command("expire")
def expire(
    silence_id: Annotated[str, typer.Argument(help="The silence's id (`roost alerts`).")],
    project: ProjectOpt = None,
) -> None:
    """End a silence now."""
    from roost.alerts import SilenceError
    from roost.alerts import silences as silence_file
    from roost.control.slos.watching import silences_path

    with _workspace(project) as ws:
        path = silences_path(ws)
        try:
            found = silence_file.load(path)
        except SilenceError as exc:
            fail(str(exc), hint="fix or delete the file", code=EXIT_INVALID)
        kept = [s for s in found if s.id != silence_id]
        if len(kept) == len(found):
            ids = ", ".join(s.id for s in found) or "there are none"
            fail(f"no silence {silence_id!r}", hint=ids, code=EXIT_INVALID)
        silence_file.save(path, kept)
    console.print(f"silence {silence_id} expired", markup=False)
