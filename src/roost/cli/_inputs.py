"""Names and assignments from the command line, checked against :mod:`roost.spec.names` (the
patterns roost.yaml and the API use) before anything is sent: a bad one is one line and exit 2."""

from __future__ import annotations

from urllib.parse import quote

from roost.cli._output import fail
from roost.spec import names


def part(value: str) -> str:
    """``value`` as one URL path segment: escaped, so it can never change the URL's shape."""
    return quote(value, safe="")


def service_name(value: str) -> str:
    if (problem := names.name_problem(value, what="service name")) is not None:
        fail(problem, hint=names.NAME_RULE, code=2)
    return value


def revision_name(value: str) -> str:
    if (problem := names.release_problem(value, what="revision name")) is not None:
        fail(problem, hint=names.RELEASE_RULE, code=2)
    return value


def env_assignments(items: list[str] | None) -> dict[str, str]:
    """``--set-env KEY=VALUE`` options as a mapping; a bad name or a key given twice exits 2."""
    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--set-env {names.shown(item)} is not KEY=VALUE", code=2)
        if (problem := names.env_name_problem(key)) is not None:
            fail(f"--set-env: {problem}", hint=names.ENV_NAME_RULE, code=2)
        if (problem := names.text_problem(value, multiline=True)) is not None:
            fail(f"--set-env {key}: {problem}", code=2)
        if key in result:
            fail(f"--set-env {key} is given twice", hint="give each variable once", code=2)
        result[key] = value
    return result


def weight_assignments(items: list[str]) -> dict[str, int]:
    """``REVISION=PERCENT`` arguments as a mapping; a revision given twice exits 2 (keeping the
    last value silently would move traffic the user did not ask for)."""
    result: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not (value.isascii() and value.isdigit()) or int(value) > 100:
            fail(
                f"{names.shown(item)} is not REVISION=PERCENT",
                hint="e.g. shop-r1=80 shop-r2=20",
                code=2,
            )
        revision_name(name)
        if name in result:
            fail(
                f"{name} is given twice ({name}={result[name]} and {item})",
                hint="give each revision's weight once, e.g. shop-r1=80 shop-r2=20",
                code=2,
            )
        result[name] = int(value)
    return result
