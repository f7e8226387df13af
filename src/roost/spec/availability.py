"""Fields that the schema knows but roost does not do yet: refused, never silently ignored.

roost.yaml is desired state: what it says is applied or refused with a located error. A few
settings describe features that are planned (a Kubernetes runtime, podman containers, a vault
secret backend, CPU limits) and are in the schema so editors and the annotated example can show
where they will go. Until they work, accepting them would be a lie — ``roost up`` would run local
processes for a "kubernetes" environment — so :func:`check_available` refuses each of them, at
the key that asks for it, with "not available yet" and what to use instead.

Like ``roost.spec.references``, the check runs on the *raw* data (plain dicts and lists from
YAML) so it reports even when other parts of the file are invalid, and every access is defensive
about types: type errors are pydantic's to report. The same function runs for models built in
code (:class:`roost.spec.project.Project` calls it), so every command that loads a project —
``validate``, ``up``, ``deploy``, ``apply`` — refuses the same things.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from roost.spec._issues import Issue, Loc

NOT_AVAILABLE = "not available yet"
"""The words every refusal of a planned feature contains (tests and docs look for them)."""


@dataclass(frozen=True)
class Unavailable:
    """One refused setting: where it is (a schema path: ``*`` for a mapping key, ``[]`` for a
    list item), which values are refused (``None``: any value that is set) and what to do."""

    path: str
    what: str
    hint: str
    refused: Callable[[Any], bool]
    example: str
    """A value that is refused, as YAML (tests and the docs page use it)."""


DEFAULT_FIELDS = ("replicas", "resources", "probes", "warmup", "rollout", "analysis")
"""The service fields that ``defaults`` may set (``roost.spec.project.Defaults``)."""


def _is_set(value: Any) -> bool:
    return value is not None


UNAVAILABLE: tuple[Unavailable, ...] = (
    Unavailable(
        "environments.*.runtime.kind",
        "the kubernetes runtime",
        "remove `runtime:` to run services as local processes; the Kubernetes runtime is planned",
        lambda value: value == "kubernetes",
        "kubernetes",
    ),
    Unavailable(
        "environments.*.runtime.isolation",
        "podman isolation",
        "remove `isolation:` (or write `isolation: process`): replicas run as plain processes",
        lambda value: value == "podman",
        "podman",
    ),
    Unavailable(
        "environments.*.runtime.workdir",
        "runtime.workdir",
        "remove it: replicas run and log under .roost/ in the project",
        _is_set,
        ".roost/run/dev",
    ),
    Unavailable(
        "services[].secrets[].from",
        "the vault secret backend",
        "use roost:NAME (`roost secret set NAME`), env:VAR or file:path",
        lambda value: isinstance(value, str) and value.startswith("vault:"),
        "vault:secret/shop#api_key",
    ),
    Unavailable(
        "services[].secrets[].version",
        "a secret version",
        "remove `version:`: pin a stored secret's version in its source, roost:NAME@3; a "
        "release pins the version of every secret it reads",
        _is_set,
        '"3"',
    ),
    Unavailable(
        "services[].resources.cpu",
        "a CPU limit",
        "remove `cpu:`: local replicas are not CPU-limited; `memory:` is enforced",
        _is_set,
        '"0.5"',
    ),
    Unavailable(
        "services[].resources.cpu_request",
        "a CPU request",
        "remove `cpu_request:`: the local runtime reserves nothing",
        _is_set,
        "250m",
    ),
    Unavailable(
        "services[].resources.memory_request",
        "a memory request",
        "remove `memory_request:`: the local runtime reserves nothing; `memory:` is enforced",
        _is_set,
        "256Mi",
    ),
)
"""Every refused setting. ``services[]`` paths also apply under ``defaults`` (the same fields)."""


def check_available(data: Any) -> list[Issue]:
    """Issues for every refused setting in a raw project mapping; locations are absolute."""
    if not isinstance(data, dict):
        return []
    issues = []
    for rule in UNAVAILABLE:
        for at, value in _values(data, rule.path):
            if rule.refused(value):
                issues.append(Issue(f"{rule.what} is {NOT_AVAILABLE}", at=at, hint=rule.hint))
    return sorted(issues, key=lambda issue: str(issue.at))


def _values(data: dict[str, Any], path: str) -> Iterator[tuple[Loc, Any]]:
    """``(location, value)`` for every place ``path`` names in ``data`` that holds a key."""
    if path.startswith("services[].") and path.split(".")[1] in DEFAULT_FIELDS:
        # Defaults are service fields that a service does not set itself: same refusals.
        yield from _walk(
            data.get("defaults"), path.removeprefix("services[].").split("."), ("defaults",)
        )
    yield from _walk(data, path.split("."), ())


def _walk(node: Any, parts: list[str], at: Loc) -> Iterator[tuple[Loc, Any]]:
    if not parts:
        return
    part, rest = parts[0], parts[1:]
    items = part.endswith("[]")
    key = part.removesuffix("[]")
    if key == "*":
        children = list(node.items()) if isinstance(node, dict) else []
    elif isinstance(node, dict) and key in node:
        children = [(key, node[key])]
    else:
        return
    for name, child in children:
        if not isinstance(name, str):
            continue
        if items:
            for index, item in enumerate(child if isinstance(child, list) else []):
                yield from _step(item, rest, (*at, name, index))
        else:
            yield from _step(child, rest, (*at, name))


def _step(node: Any, rest: list[str], at: Loc) -> Iterator[tuple[Loc, Any]]:
    if rest:
        yield from _walk(node, rest, at)
    else:
        yield at, node
