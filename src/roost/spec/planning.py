"""What applying a roost.yaml would change: a plan of added, changed and removed things.

The plan compares two projects — the one the control plane applied last and the one on disk —
noun by noun (environments, services, SLOs, freeze-window schedules, alert receivers), with the
fields that changed inside each. It is pure: two :class:`Project` values in, a :class:`Plan`
out, so ``roost diff``, ``roost apply`` and the control plane's own re-read of the file all show
the same thing, and it is the beginning of drift detection (declared versus applied).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from roost.spec.project import Project

Action = Literal["add", "change", "remove"]

NOUNS = ("project", "environment", "service", "slo", "schedule", "receiver")
"""What a plan talks about, in the order it is shown."""

_SYMBOL = {"add": "+", "change": "~", "remove": "-"}


@dataclass(frozen=True)
class FieldChange:
    """One field inside a changed thing: its path (``approval.required``) and both values as
    JSON data (``None`` when the field was or becomes unset)."""

    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    """One thing added, changed or removed: ``noun`` (see :data:`NOUNS`) and ``name``
    (``web``, ``web/availability``, ``production/weekend``)."""

    action: Action
    noun: str
    name: str
    fields: tuple[FieldChange, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "noun": self.noun,
            "name": self.name,
            "fields": [{"path": f.path, "before": f.before, "after": f.after} for f in self.fields],
        }


@dataclass(frozen=True)
class Plan:
    """Every change, nouns in :data:`NOUNS` order, names in file order within a noun."""

    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        """Whether applying would change nothing."""
        return not self.changes

    def counts(self) -> dict[Action, int]:
        """How many things are added, changed and removed."""
        counts: dict[Action, int] = {"add": 0, "change": 0, "remove": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def summary(self) -> str:
        """``2 to add, 1 to change, 0 to remove`` or ``nothing to do``."""
        if self.empty:
            return "nothing to do"
        counts = self.counts()
        return f"{counts['add']} to add, {counts['change']} to change, {counts['remove']} to remove"

    def lines(self) -> list[str]:
        """The plan for people: one line per change, an indented line per changed field."""
        out = []
        for change in self.changes:
            out.append(f"{_SYMBOL[change.action]} {change.noun} {change.name}")
            for item in change.fields:
                out.append(f"    {item.path}: {_show(item.before)} → {_show(item.after)}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "counts": self.counts(),
            "changes": [change.to_json() for change in self.changes],
        }


def plan(applied: Project | None, desired: Project) -> Plan:
    """What applying ``desired`` over ``applied`` changes; ``applied`` None: nothing applied yet,
    so everything is added."""
    before = _things(applied) if applied is not None else {}
    after = _things(desired)
    changes = []
    for noun in NOUNS:
        old = before.get(noun, {})
        new = after.get(noun, {})
        for name, value in new.items():
            if name not in old:
                changes.append(Change("add", noun, name))
            elif old[name] != value:
                changes.append(Change("change", noun, name, tuple(_fields(old[name], value))))
        changes += [Change("remove", noun, name) for name in old if name not in new]
    return Plan(tuple(changes))


def _things(project: Project) -> dict[str, dict[str, Any]]:
    """Each noun's things by name, as JSON data with the nested nouns taken out (an SLO change
    is shown as an SLO, not also as a change of its service)."""
    data = project.model_dump(mode="json", by_alias=True)
    environments: dict[str, Any] = {}
    schedules: dict[str, Any] = {}
    for env_name, environment in data.pop("environments").items():
        for window in environment.pop("freeze_windows"):
            schedules[f"{env_name}/{window['name']}"] = window
        environments[env_name] = environment
    services: dict[str, Any] = {}
    slos: dict[str, Any] = {}
    for service in data.pop("services"):
        for slo in service.pop("slos"):
            slos[f"{service['name']}/{slo['name']}"] = slo
        services[service["name"]] = service
    alerting = data.pop("alerting")
    receivers = {receiver["name"]: receiver for receiver in alerting.pop("receivers")}
    # What is left is project-wide: name, description, defaults, scan waivers and the alert
    # routing settings.
    data["alerting"] = alerting
    return {
        "project": {data["project"]: data},
        "environment": environments,
        "service": services,
        "slo": slos,
        "schedule": schedules,
        "receiver": receivers,
    }


def _fields(before: Any, after: Any, path: str = "") -> Iterator[FieldChange]:
    if before == after:
        return
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in [*before, *(k for k in after if k not in before)]:
            yield from _fields(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from _fields(old, new, f"{path}[{index}]")
        return
    yield FieldChange(path, before, after)


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value if value and value.strip() == value and len(value) <= 60 else repr(value)
    text = repr(value) if not isinstance(value, dict | list) else _compact(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)
