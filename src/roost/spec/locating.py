"""Pydantic validation errors → located, readable problems.

Each error's ``loc`` is walked through the YAML document to the most specific node that exists
(see :meth:`Document.locate`), and its message is rewritten in the user's terms: the path as
written in YAML, "expected an integer, got "eighty"", "unknown field ... did you mean".
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Sequence
from typing import Any, Union

from pydantic import BaseModel, Tag, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from roost.spec._issues import (
    ERROR_TYPE,
    KEY,
    Issue,
    Loc,
    did_you_mean,
    format_loc,
    issues_from_context,
)
from roost.spec.documents import Document
from roost.spec.fields import describe
from roost.spec.problems import Problem
from roost.spec.project import Project

_EXPECTED = {
    ("int_type", "int_parsing", "int_from_float", "int_parsing_size"): "an integer",
    ("float_type", "float_parsing", "finite_number"): "a number",
    ("bool_type", "bool_parsing"): "true or false",
    ("string_type", "string_unicode"): "a string",
    ("dict_type", "model_type", "model_attributes_type", "mapping_type"): "a mapping",
    ("list_type", "tuple_type", "iterable_type", "set_type"): "a list",
    ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"): "a date and time",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be more than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be less than {}"),
}


def problems_from_error(error: ValidationError, document: Document, filename: str) -> list[Problem]:
    """Located problems for every entry of a pydantic ``ValidationError`` on a project."""
    problems = []
    for details in error.errors(include_url=False):
        loc = tuple(details["loc"])
        if details["type"] == ERROR_TYPE:
            if not loc:
                continue  # project-wide references: the loader checks the raw data itself
            issues = issues_from_context(details.get("ctx"))
            problems += problems_from_issues(issues, document, filename, base=loc)
        else:
            problems.append(_problem(details, loc, document, filename))
    return problems


def problems_from_issues(
    issues: Sequence[Issue], document: Document, filename: str, *, base: Loc = ()
) -> list[Problem]:
    """Located problems for roost issues whose locations are relative to ``base``."""
    problems = []
    for issue in issues:
        position = document.locate((*base, *issue.at))
        hint = issue.hint
        if issue.related is not None:
            related = document.locate((*base, *issue.related))
            hint = hint or f"first defined on line {related.line}"
        path = format_loc(position.found)
        message = f"{path}: {issue.message}" if path else issue.message
        problems.append(Problem(filename, position.line, position.column, message, hint))
    return problems


def _problem(details: ErrorDetails, loc: Loc, document: Document, filename: str) -> Problem:
    kind = details["type"]
    position = document.locate(loc)
    found = position.found
    if kind == "extra_forbidden":
        position = document.locate((*loc, KEY))
        key, parent = loc[-1], found[:-1]
        names = _field_names(model_at(loc[:-1]))
        hint = did_you_mean(key, names, listing="allowed fields are")
        where = _where(parent, document.data)
        return Problem(
            filename, position.line, position.column, f"unknown field {describe(key)} {where}", hint
        )
    if kind == "missing" or (kind == "union_tag_not_found" and isinstance(details["input"], dict)):
        if kind == "missing":
            field_name = loc[-1]
            model = model_at(loc[:-1])
        else:  # a tagged union without its tag field: the tag is what is missing
            field_name = str(details.get("ctx", {}).get("discriminator", "")).strip("'")
            model = None
        hint = _field_help(model, field_name) or _tag_help(loc, field_name)
        where = _where(found, document.data)
        message = f"missing required field {describe(field_name)} {where}"
        return Problem(filename, position.line, position.column, message, hint)
    if kind == "union_tag_invalid":
        context = details.get("ctx", {})
        field_name = str(context.get("discriminator", "")).strip("'")
        position = document.locate((*found, field_name))
        found = position.found
        choices = re.findall(r"'([^']*)'", str(context.get("expected_tags", "")))
        tag = details["input"].get(field_name) if isinstance(details["input"], dict) else None
        message = f"expected one of {_choices(choices)}, got {describe(tag)}"
        hint = did_you_mean(tag, choices)
        return Problem(filename, position.line, position.column, _prefixed(found, message), hint)
    message, hint = _message(details)
    return Problem(filename, position.line, position.column, _prefixed(found, message), hint)


def _message(details: ErrorDetails) -> tuple[str, str | None]:
    kind, value = details["type"], details["input"]
    context: dict[str, Any] = dict(details.get("ctx") or {})
    got = describe(value)
    expected = next((text for kinds, text in _EXPECTED.items() if kind in kinds), None)
    message, hint = details["msg"], None
    if expected is not None:
        message = f"expected {expected}, got {got}"
        if expected == "a string" and isinstance(value, int | float | bool):
            hint = f'quote it: "{got}"'
    elif kind in _BOUNDS:
        key, text = _BOUNDS[kind]
        message = f"{text.format(context.get(key))}, got {got}"
    elif kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(context.get("expected", "")))
        message = f"expected one of {_choices(choices)}, got {got}"
        hint = did_you_mean(value, choices)
    elif kind in ("too_short", "too_long"):
        count = context.get("min_length" if kind == "too_short" else "max_length")
        bound = "at least" if kind == "too_short" else "at most"
        message = f"must have {bound} {count} {'entry' if count == 1 else 'entries'}"
    elif kind == "string_too_short":
        message = "must not be empty"
    elif kind == "string_pattern_mismatch":
        message = f"{got} does not have the expected form"
        hint = f"it must match {context.get('pattern')}"
    else:
        for prefix in ("Value error, ", "Assertion failed, "):
            message = message.removeprefix(prefix)
    return message, hint


def _prefixed(found: Loc, message: str) -> str:
    path = format_loc(found)
    return f"{path}: {message}" if path else message


def _choices(choices: Sequence[str]) -> str:
    return ", ".join(f'"{choice}"' for choice in choices)


def _where(parent: Loc, data: Any) -> str:
    """``in service "web"``, ``in environment "prod", at approval``, ``at the top level``."""
    if not parent:
        return "at the top level"
    head: str | None = None
    if parent[0] == "services" and len(parent) >= 2 and isinstance(parent[1], int):
        services = data.get("services") if isinstance(data, dict) else None
        service = services[parent[1]] if isinstance(services, list) else None
        name = service.get("name") if isinstance(service, dict) else None
        head = f"service {describe(name)}" if isinstance(name, str) else None
    elif parent[0] == "environments" and len(parent) >= 2:
        head = f"environment {describe(parent[1])}"
    if head is None:
        return f"in {format_loc(parent)}"
    rest = format_loc(parent[2:])
    return f"in {head}, at {rest}" if rest else f"in {head}"


def _field_names(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _field_help(model: type[BaseModel] | None, field_name: str | int) -> str | None:
    if model is None:
        return None
    for name, info in model.model_fields.items():
        if field_name in (name, info.alias) and info.description:
            return f"{field_name}: {info.description}"
    return None


def _tag_help(loc: Loc, field_name: str | int) -> str | None:
    values = [
        value
        for member in _members(annotation_at(loc))
        for info_name, info in _model_fields(_members(member)[0])
        if field_name in (info_name, info.alias)
        for value in _literal_args(info.annotation)
    ]
    return f"{field_name} is one of: {', '.join(map(str, values))}" if values else None


def annotation_at(loc: Loc) -> Any:
    """The annotation validating the value at a pydantic error location (``None``: unknown)."""
    current: Any = Project
    for segment in loc:
        current = _child(current, segment)
        if current is None:
            return None
    return current


def model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class validating the value at a pydantic error location, if there is one."""
    members = _members(annotation_at(loc))
    if len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], BaseModel):
        return members[0]
    return None


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a (possibly Annotated, Optional) type, each with its metadata."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                members += [arg] if _tag(arg) else _members(arg)
        return members
    return [annotation]


def _tag(annotation: Any) -> str | None:
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in typing.get_args(annotation)[1:]:
            if isinstance(meta, Tag):
                return meta.tag
    return None


def _child(annotation: Any, segment: str | int) -> Any:
    members = _members(annotation)
    if len(members) > 1:
        # A union: pydantic names the member it tried by its tag (or discriminator value).
        return next(
            (
                member
                for member in members
                if _tag(member) == segment or segment in _literal_values(_members(member)[0])
            ),
            None,
        )
    target = members[0]
    origin = typing.get_origin(target)
    child: Any = None
    if isinstance(target, type) and issubclass(target, BaseModel):
        fields = target.model_fields.items()
        child = next((f.annotation for n, f in fields if segment in (n, f.alias)), None)
    elif origin in (list, tuple) and isinstance(segment, int):
        child = typing.get_args(target)[0]
    elif origin is dict and isinstance(segment, str):
        child = typing.get_args(target)[1]
    return child


def _model_fields(model: Any) -> list[tuple[str, FieldInfo]]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields.items())
    return []


def _literal_args(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return ()


def _literal_values(model: Any) -> list[Any]:
    return [value for _, info in _model_fields(model) for value in _literal_args(info.annotation)]
