"""Project-wide checks: names that must exist, be unique, or not loop.

These run on the *raw* data (plain dicts and lists from YAML), not on models, because they must
also run when some other part of the file failed validation: a user fixing a typo in one service
should see the duplicate service name in the same run. So every access here is defensive about
types; type errors themselves are pydantic's to report.
"""

from __future__ import annotations

from typing import Any

from roost.spec._issues import Issue, did_you_mean, format_loc
from roost.spec.fields import describe


def check_references(data: Any) -> list[Issue]:
    """Issues with cross references in a raw project mapping; locations are absolute."""
    if not isinstance(data, dict):
        return []
    environments = data.get("environments")
    environments = environments if isinstance(environments, dict) else {}
    names = [name for name in environments if isinstance(name, str)]
    issues = _promotion(environments, names)
    services = data.get("services")
    if isinstance(services, list):
        issues += _service_names(services)
        defaults = data.get("defaults")
        defaults = defaults if isinstance(defaults, dict) else {}
        for index, service in enumerate(services):
            if isinstance(service, dict):
                issues += _service_environments(index, service, names)
                issues += _analysis_steps(index, service, defaults)
        issues += _listen_ports(services, names)
    issues += _schedule_targets(data.get("schedules"), names, services)
    return issues


def _schedule_targets(schedules: Any, names: list[str], services: Any) -> list[Issue]:
    """A schedule's action names an environment and a service that exist."""
    if not isinstance(schedules, dict):
        return []
    known = [s.get("name") for s in services or [] if isinstance(s, dict)]
    issues = []
    for name, schedule in schedules.items():
        params = schedule.get("params") if isinstance(schedule, dict) else None
        if not isinstance(params, dict):
            continue
        at = ("schedules", name, "params")
        environment = params.get("environment")
        if isinstance(environment, str) and environment not in names:
            issues.append(_unknown_environment(environment, (*at, "environment"), names))
        service = params.get("service")
        if isinstance(service, str) and service not in known:
            issues.append(
                Issue(
                    f"unknown service {describe(service)}",
                    at=(*at, "service"),
                    hint=did_you_mean(
                        service, [k for k in known if isinstance(k, str)], listing="services are"
                    ),
                )
            )
    return issues


def _unknown_environment(name: str, at: tuple[str | int, ...], names: list[str]) -> Issue:
    return Issue(
        f"unknown environment {describe(name)}",
        at=at,
        hint=did_you_mean(name, names, listing="environments are"),
    )


def _promotion(environments: dict[Any, Any], names: list[str]) -> list[Issue]:
    issues = []
    parents: dict[str, str] = {}
    for name, environment in environments.items():
        if not isinstance(environment, dict):
            continue
        parent = environment.get("promote_from")
        if not isinstance(parent, str):
            continue
        at = ("environments", name, "promote_from")
        if parent == name:
            issues.append(Issue("an environment cannot promote from itself", at=at))
        elif parent not in names:
            issues.append(_unknown_environment(parent, at, names))
        else:
            parents[name] = parent
    reported: set[str] = set()
    for start in parents:
        path = [start]
        while path[-1] in parents and parents[path[-1]] not in path:
            path.append(parents[path[-1]])
        if path[-1] not in parents:
            continue  # reached an environment without promote_from: no loop from here
        loop = path[path.index(parents[path[-1]]) :]
        if reported.intersection(loop):
            continue
        reported.update(loop)
        first = min(loop, key=names.index)  # report at the loop member written first
        members = loop[loop.index(first) :] + loop[: loop.index(first)]
        flow = " → ".join([*reversed(members), members[-1]])  # releases flow parent → child
        issues.append(
            Issue(
                f"promotion order loops: {flow}",
                at=("environments", first, "promote_from"),
                hint="one environment in the loop must not have promote_from",
            )
        )
    return issues


def _service_names(services: list[Any]) -> list[Issue]:
    issues = []
    seen: dict[str, int] = {}
    for index, service in enumerate(services):
        name = service.get("name") if isinstance(service, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            issues.append(
                Issue(
                    f"duplicate service name {describe(name)}",
                    at=("services", index, "name"),
                    related=("services", seen[name], "name"),
                )
            )
        else:
            seen[name] = index
    return issues


def _service_environments(index: int, service: dict[Any, Any], names: list[str]) -> list[Issue]:
    issues = []
    listed = service.get("environments")
    if isinstance(listed, list):
        for position, name in enumerate(listed):
            if isinstance(name, str) and name not in names:
                at = ("services", index, "environments", position)
                issues.append(_unknown_environment(name, at, names))
    listen = service.get("listen")
    if isinstance(listen, dict):
        for name in listen:
            if not isinstance(name, str):
                continue
            where: tuple[str | int, ...] = ("services", index, "listen", name)
            if name not in names:
                issues.append(_unknown_environment(name, where, names))
            elif isinstance(listed, list) and name not in listed:
                issues.append(
                    Issue(
                        f"the service is not deployed to {describe(name)}",
                        at=where,
                        hint="add it to the service's environments, or remove this port",
                    )
                )
    replicas = service.get("replicas")
    if isinstance(replicas, dict):
        for name in replicas:
            if isinstance(name, str) and name != "*" and name not in names:
                issues.append(
                    _unknown_environment(name, ("services", index, "replicas", name), names)
                )
    return issues


def _analysis_steps(index: int, service: dict[Any, Any], defaults: dict[Any, Any]) -> list[Issue]:
    """An analysis step without its own checks needs an analysis to run."""
    if service.get("analysis") is not None or defaults.get("analysis") is not None:
        return []
    rollout, at = service.get("rollout"), ("services", index, "rollout")
    if rollout is None and "rollout" not in service:
        rollout, at = defaults.get("rollout"), ("services", index, "name")
    steps = rollout.get("steps") if isinstance(rollout, dict) else None
    if not isinstance(steps, list):
        return []
    issues = []
    for position, step in enumerate(steps):
        if not isinstance(step, dict) or "analysis" not in step:
            continue
        analysis = step["analysis"]
        if not isinstance(analysis, dict | None) or (analysis or {}).get("checks") is not None:
            continue  # has checks, or is not an analysis at all (pydantic reports that)
        if at[-1] == "name":
            message = (
                f"defaults.rollout.steps[{position}] analyses, but this service has no analysis"
            )
            issues.append(Issue(message, at=at, hint="add an analysis section to the service"))
            break
        issues.append(
            Issue(
                "this analysis step has no checks and the service has no analysis",
                at=(*at, "steps", position, "analysis"),
                hint="add checks to the step, or an analysis section to the service or defaults",
            )
        )
    return issues


def _listen_ports(services: list[Any], names: list[str]) -> list[Issue]:
    """Every environment of every service has its own router listener: one agent runs them
    all on this machine, so a fixed port given twice could only be bound once."""
    issues = []
    seen: dict[int, tuple[str | int, ...]] = {}
    for index, service in enumerate(services):
        if not isinstance(service, dict):
            continue
        listed = service.get("environments")
        runs = [n for n in names if not isinstance(listed, list) or n in listed]
        listen = service.get("listen")
        ports: list[tuple[int, tuple[str | int, ...]]] = []
        if isinstance(listen, dict):
            ports = [
                (port, ("services", index, "listen", name))
                for name, port in listen.items()
                if _is_port(port) and name in runs
            ]
        elif isinstance(listen, int) and _is_port(listen) and runs:
            ports = [(listen, ("services", index, "listen"))]
        for port, at in ports:
            if port in seen:
                issues.append(
                    Issue(
                        f"port {port} is already the router port at {format_loc(seen[port])}: "
                        "each environment of each service needs its own",
                        at=at,
                        related=seen[port],
                        hint="give each environment its own port, e.g. "
                        '`listen: {dev: 8080, staging: 8081}`, or "auto"',
                    )
                )
            else:
                seen[port] = at
    return issues


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
