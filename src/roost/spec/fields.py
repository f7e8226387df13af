"""Small value types shared by several models: names, ports, commands, env vars, quantities."""

from __future__ import annotations

import re
import shlex
from datetime import date, datetime, time, tzinfo
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, PlainValidator, WithJsonSchema

from roost.spec._issues import Loc, issue_error

# The patterns live in roost.spec.names: the API and the CLI check the same ones.
from roost.spec.names import ENV_NAME_PATTERN, ENV_NAME_RULE, NAME_PATTERN, NAME_RULE

_NAME = re.compile(NAME_PATTERN)
_NAME_RULE = NAME_RULE


def describe(value: object) -> str:
    """How an offending value is shown in a message: strings quoted, containers by kind."""
    if value is None or isinstance(value, bool):
        text = str(value).lower().replace("none", "null")
    elif isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        text = '"' + shown.replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif isinstance(value, int | float):
        text = repr(value)
    else:
        kinds: dict[type, str] = {dict: "a mapping", list: "a list", tuple: "a list"}
        text = kinds.get(type(value), f"a {type(value).__name__}")
    return text


def _name(value: Any) -> Any:
    if isinstance(value, str) and not _NAME.fullmatch(value):
        raise issue_error(f"{describe(value)} is not a valid name", hint=f"use {_NAME_RULE}")
    return value


Name = Annotated[
    str,
    BeforeValidator(_name),
    WithJsonSchema({"type": "string", "pattern": NAME_PATTERN, "maxLength": 63}),
]
"""A DNS-label-like name: lowercase letters, digits and '-', starting with a letter."""


def _port(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return value
    raise issue_error(f"expected a port number from 1 to 65535, got {describe(value)}")


Port = Annotated[
    int, PlainValidator(_port), WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 65535})
]
"""A TCP port, 1-65535."""


def port_or_auto(value: Any, *, at: tuple[str | int, ...] = ()) -> int | Literal["auto"]:
    """``value`` as a port or ``"auto"``; a located issue (at ``at``) otherwise."""
    if value == "auto" and isinstance(value, str):
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return value
    raise issue_error(
        f'expected a port number from 1 to 65535 or "auto", got {describe(value)}', at=at
    )


def _port_or_auto(value: Any) -> int | Literal["auto"]:
    return port_or_auto(value)


PortOrAuto = Annotated[
    int | Literal["auto"],
    PlainValidator(_port_or_auto),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"const": "auto", "type": "string"},
            ]
        }
    ),
]
"""A TCP port, or ``"auto"`` for one roost picks and passes to the program as ``$PORT``."""


def _command(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError as err:
            raise issue_error(
                f"cannot split the command into words: {err}",
                hint="check the quotes, or write the command as a list",
            ) from None
    elif isinstance(value, list | tuple):
        for index, word in enumerate(value):
            if not isinstance(word, str):
                raise issue_error(
                    f"expected a string, got {describe(word)}",
                    at=(index,),
                    hint='quote numbers and flags, e.g. "8080"',
                )
        words = list(value)
    else:
        raise issue_error(f"expected a command (a string or a list), got {describe(value)}")
    if not words or not words[0]:
        raise issue_error("the command is empty")
    return words


Command = Annotated[
    list[str],
    PlainValidator(_command),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1, "description": "split like a POSIX shell"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ]
        }
    ),
]
"""A program and its arguments: a list of words, or one string split like a POSIX shell does.
No shell runs (write ``["sh", "-c", "..."]`` for pipes); ``$PORT`` and ``${NAME}`` in words are
filled in from the service's environment when it starts."""

_ENV_NAME = re.compile(ENV_NAME_PATTERN)


def _env_name(value: Any) -> Any:
    if isinstance(value, str) and not _ENV_NAME.fullmatch(value):
        raise issue_error(
            f"{describe(value)} is not a valid environment variable name",
            hint=ENV_NAME_RULE,
        )
    return value


EnvVarName = Annotated[
    str, BeforeValidator(_env_name), WithJsonSchema({"type": "string", "pattern": ENV_NAME_PATTERN})
]


def _env_value(value: Any) -> Any:
    # YAML turns `PORT: 8080` into an int and `DEBUG: yes` into a bool. Numbers are converted
    # because their text is obvious; booleans are not, because `yes` would become "True".
    if isinstance(value, bool) or value is None:
        raise issue_error(
            f"expected a string, got {describe(value)}",
            hint='quote the value, e.g. "true" or ""',
        )
    if isinstance(value, int | float):
        return str(value)
    return value


EnvValue = Annotated[
    str,
    BeforeValidator(_env_value),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}]}),
]
"""An environment variable value: a string (numbers are accepted and kept as written)."""

EnvVars = dict[EnvVarName, EnvValue]


MEMORY_PATTERN = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|K|M|G|T)?$"
_MEMORY = re.compile(MEMORY_PATTERN)
_MEMORY_FACTORS = {
    "": 1,
    "k": 1000,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
}


def memory_bytes(quantity: str) -> int:
    """``"512Mi"`` → 536870912 (Kubernetes quantity suffixes; ``M`` is 10^6, ``Mi`` 2^20)."""
    match = _MEMORY.fullmatch(quantity)
    if match is None:
        raise ValueError(f"{describe(quantity)} is not a memory size")
    suffix = match.group(2) or ""
    number = quantity[: len(quantity) - len(suffix)]
    return int(float(number) * _MEMORY_FACTORS[suffix])


def _memory(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and not _MEMORY.fullmatch(value):
        raise issue_error(
            f"{describe(value)} is not a memory size", hint="use e.g. 512Mi, 2Gi or 1G"
        )
    return value


Memory = Annotated[
    str,
    BeforeValidator(_memory),
    WithJsonSchema({"type": "string", "pattern": MEMORY_PATTERN, "examples": ["512Mi", "2Gi"]}),
]
"""A memory size in Kubernetes quantity notation: ``512Mi``, ``2Gi``, ``1G``."""

CPU_PATTERN = r"^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)$"
_CPU = re.compile(CPU_PATTERN)


def cpu_millicores(quantity: str) -> int:
    """``"500m"`` → 500, ``"1.5"`` → 1500."""
    if quantity.endswith("m"):
        return int(quantity[:-1])
    return round(float(quantity) * 1000)


def _cpu(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = repr(value)
    if isinstance(value, str) and not _CPU.fullmatch(value):
        raise issue_error(
            f"{describe(value)} is not a CPU amount",
            hint='use cores (0.5, 2) or millicores ("500m")',
        )
    if isinstance(value, str) and cpu_millicores(value) <= 0:
        raise issue_error("a CPU amount must be more than 0")
    return value


Cpu = Annotated[
    str,
    BeforeValidator(_cpu),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": CPU_PATTERN}, {"type": "number"}]}),
]
"""CPU in cores (``0.5``, ``2``) or millicores (``"500m"``), kept as a string."""

STATUS_RANGE_PATTERN = r"^[1-5][0-9][0-9](-[1-5][0-9][0-9])?$"
_STATUS_RANGE = re.compile(STATUS_RANGE_PATTERN)


def status_bounds(status_range: str) -> tuple[int, int]:
    """``"200-399"`` → ``(200, 399)``; ``"204"`` → ``(204, 204)``; both ends included."""
    low, _, high = status_range.partition("-")
    return int(low), int(high or low)


def _status_range(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        if not _STATUS_RANGE.fullmatch(value):
            raise issue_error(
                f"{describe(value)} is not an HTTP status range",
                hint='use a code like 200 or an inclusive range like "200-399"',
            )
        low, high = status_bounds(value)
        if low > high:
            raise issue_error(f"{describe(value)} is an empty range: {low} is above {high}")
    return value


StatusRange = Annotated[
    str,
    BeforeValidator(_status_range),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": STATUS_RANGE_PATTERN}, {"type": "integer"}]}
    ),
]
"""An inclusive HTTP status range, ``"200-399"``, or one code, ``204``."""


def moment(value: Any, *, zone: tzinfo, hint: str, at: Loc = ()) -> Any:
    """A point in time as YAML gives it: an ISO 8601 string is parsed (``hint`` where it is not
    one), a bare date means its midnight and a naive time is in ``zone``; anything else is left
    for the model's own type check."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise issue_error(
                f"{describe(value)} is not a date or time", at=at, hint=hint
            ) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=zone)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value
