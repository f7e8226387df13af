"""``roost doctor``: what is wrong with this project's roost, and why.

Agents with their condition (Ready / NotReady) and last heartbeat, the control-plane leader
and its lease, recent agent / control-plane / lock events, the likely causes of a NotReady
agent found on this machine (process gone, port unreachable, disk or memory pressure), and
whether the audit log's hash chain is intact. Reads
the state store directly, so it works while ``roost serve`` is down. Exit code 1 when anything
is unhealthy, 0 otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._options import DatabaseOpt, HeartbeatGraceOpt, JsonOpt, ProjectOpt, project_root
from roost.cli._output import EXIT_FAILURE, console, fail, user_errors
from roost.cli._tables import Table
from roost.control.paths import resolve_root

if TYPE_CHECKING:
    from roost.control.operations.diagnosing import Diagnosis
    from roost.store import ChainReport


def doctor(
    project: ProjectOpt = None,
    database_url: DatabaseOpt = None,
    heartbeat_grace: HeartbeatGraceOpt = None,
    as_json: JsonOpt = False,
    output: FormatOpt = None,
) -> None:
    """Agents and their conditions, the control-plane leader, recent events, likely causes."""
    # Outside a project the default SQLite store would be created empty: say so instead (and
    # before the imports below, which take a while).
    root = resolve_root(project) if database_url else project_root(project)
    from roost.agent.heartbeat import AGENT_LEASE_PREFIX, node_lease_name
    from roost.control.leadership.leading import CONTROL_LEASE
    from roost.control.operations.diagnosing import diagnose
    from roost.leases.conditions import grace_seconds
    from roost.store import open_store

    try:
        grace = grace_seconds(heartbeat_grace)
    except ValueError as exc:
        fail(str(exc), hint="e.g. --heartbeat-grace 15", code=2)
    with user_errors():
        store = open_store(database_url, root=root)
        try:
            found = diagnose(
                store,
                root=root,
                lease_name=CONTROL_LEASE,
                agent_prefix=AGENT_LEASE_PREFIX,
                local_node=node_lease_name(),
                grace=grace,
            )
            chain = store.events.verify()
        finally:
            store.close()
    fmt = chosen(output, as_json)
    if fmt is not None:
        from roost.cli._shapes import Doctor

        emit(Doctor.model_validate({**_as_json(found), "audit": _audit_json(chain)}), fmt)
    else:
        _print(found, chain)
    if not (found.healthy and chain.intact):
        raise typer.Exit(EXIT_FAILURE)


def _audit_json(chain: ChainReport) -> dict[str, object]:
    return {
        "intact": chain.intact,
        "events": chain.events,
        "head": chain.head,
        "problem": chain.problem,
    }


def _print(found: Diagnosis, chain: ChainReport) -> None:
    from roost.control.operations.diagnosing import age_text

    agents = Table(
        "agent", "condition", "last heartbeat", "holder", "likely causes", title="agents"
    )
    for report in found.agents:
        condition = report.condition
        agents.add_row(
            condition.node + (" (this machine)" if report.local else ""),
            condition.status,
            age_text(report.heartbeat_age),
            condition.holder or "—",
            "\n".join(report.causes) if not condition.ready else "",
        )
    console.print(agents)
    leader = found.leader
    lease = leader.lease
    if lease is None or lease.holder is None:
        console.print("control plane: no leader (no roost serve holds the lease)", markup=False)
    else:
        state = "leads" if leader.alive else "held the lease, which has EXPIRED"
        console.print(
            f"control plane: {lease.holder} {state} (lease {lease.name!r}, fencing token "
            f"{lease.fencing_token}, {lease.duration_seconds:g}s, renewed "
            f"{age_text(leader.age)}, {lease.transitions} transitions)",
            markup=False,
        )
    if found.events:
        events = Table("time", "event", "subject", "detail", title="recent events")
        for event in found.events:
            detail = event.data if isinstance(event.data, dict) else {}
            shown = detail.get("reason") or detail.get("identity") or detail.get("holder") or ""
            events.add_row(
                f"{event.time:%H:%M:%S}",
                event.type.removeprefix("dev.roost."),
                event.subject or "",
                str(shown),
            )
        console.print(events)
    pressure = found.pressure
    console.print(
        f"this machine: {pressure.disk_free / 2**30:.1f} GiB disk free, "
        f"{pressure.memory_available / 2**30:.1f} GiB memory available",
        markup=False,
    )
    if chain.intact:
        console.print(f"audit log: chain intact ({chain.events} events)", markup=False)
    problems = list(found.problems)
    if chain.problem:
        problems.append(
            f"audit log tampered with: {chain.problem} (roost audit verify shows the detail)"
        )
    if not problems:
        console.print("healthy", markup=False)
        return
    console.print(f"{len(problems)} problem(s):", markup=False)
    for problem in problems:
        console.print(f"  - {problem}", markup=False)


def _as_json(found: Diagnosis) -> dict[str, object]:
    lease = found.leader.lease
    return {
        "healthy": found.healthy,
        "problems": found.problems,
        "agents": [
            {
                **report.condition.event_data(),
                "heartbeat_age_seconds": round(report.heartbeat_age, 3),
                "local": report.local,
                "causes": report.causes,
            }
            for report in found.agents
        ],
        "leader": {
            "holder": lease.holder if lease else None,
            "alive": found.leader.alive,
            "fencing_token": lease.fencing_token if lease else None,
            "renewed_at": lease.renewed_at.isoformat() if lease else None,
            "duration_seconds": lease.duration_seconds if lease else None,
        },
        "events": [event.to_cloudevent() for event in found.events],
    }
