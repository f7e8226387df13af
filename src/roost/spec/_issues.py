"""How a validator reports a problem at a precise place, several at once, with a hint.

Pydantic locates an error at the field whose validator raised it. A model-level validator (two
probe handlers, a duplicate SLO name) knows better: the problem is at a key *inside* it. So our
validators raise one ``roost_spec`` error whose context carries :class:`Issue` tuples with a
location relative to the validated value and a hint; the loader (``roost.spec.locating``) turns
each issue into a :class:`~roost.spec.problems.Problem` at the right line and column. Outside
the loader (a model built in Python) the error still reads well, because the message lists them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticCustomError

ERROR_TYPE = "roost_spec"

Loc = tuple[str | int, ...]

KEY = "[key]"
"""A final location segment meaning "the key of the previous segment, not its value" (pydantic
uses the same spelling for errors in dict keys)."""


@dataclass(frozen=True)
class Issue:
    """A problem found by a roost validator, relative to the value being validated.

    ``related`` is the location of another node the problem refers to, e.g. the first of two
    services with the same name, relative to the same value as ``at``; the loader turns it into
    the hint "first defined on line N".
    """

    message: str
    at: Loc = ()
    hint: str | None = None
    related: Loc | None = None


def format_loc(loc: Sequence[str | int]) -> str:
    """``("services", 0, "rollout", "steps", 2)`` → ``services[0].rollout.steps[2]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def issues_error(issues: Iterable[Issue]) -> PydanticCustomError:
    """One pydantic error that carries several located issues."""
    issues = list(issues)
    lines = []
    for issue in issues:
        where = format_loc(issue.at)
        text = f"{where}: {issue.message}" if where else issue.message
        if issue.hint:
            text += f" ({issue.hint})"
        lines.append(text)
    # Keys are substituted into the template in order: "message" goes last so that user text
    # containing "{issues}" is never substituted again.
    context = {
        "issues": tuple((i.message, i.at, i.hint, i.related) for i in issues),
        "message": "; ".join(lines),
    }
    return PydanticCustomError(ERROR_TYPE, "{message}", context)


def issue_error(message: str, *, at: Loc = (), hint: str | None = None) -> PydanticCustomError:
    """One pydantic error for one located issue."""
    return issues_error([Issue(message, at=at, hint=hint)])


def issues_from_context(context: dict[str, Any] | None) -> list[Issue]:
    """The issues carried by a ``roost_spec`` error (see :func:`issues_error`)."""
    if not context:
        return []
    return [
        Issue(message, at=at, hint=hint, related=related)
        for message, at, hint, related in context.get("issues", ())
    ]


def did_you_mean(word: object, choices: Iterable[str], *, listing: str = "") -> str | None:
    """``did you mean "replicas"?``, or the list of choices when none is close.

    ``listing`` names the choices for the fallback ("allowed fields", "environments");
    without it there is no fallback and ``None`` is returned.
    """
    choices = list(choices)
    if isinstance(word, str):
        close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
        if close:
            return f'did you mean "{close[0]}"?'
    if listing and choices:
        return f"{listing}: " + ", ".join(choices)
    return None
