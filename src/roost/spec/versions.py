"""Database schema compatibility of a release: which schema versions it can run against.

roost refuses a deploy or rollback when the environment's current schema version is outside the
release's ``requires`` range, which is what makes rollback safe across migrations.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import issue_error
from roost.spec.fields import describe

_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)?\s*([0-9]+)\s*")
RANGE_PATTERN = r"^\s*(>=|<=|==|!=|>|<)?\s*[0-9]+\s*(,\s*(>=|<=|==|!=|>|<)?\s*[0-9]+\s*)*$"
_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_RANGE_HINT = 'write comma-separated bounds on whole versions, e.g. ">=6,<8" or "==7"'


def parse_version_range(text: str) -> list[tuple[str, int]]:
    """``">=6,<8"`` → ``[(">=", 6), ("<", 8)]``; a bare number means ``==``.

    Raises ``ValueError`` naming the bad part.
    """
    clauses = []
    for part in text.split(","):
        match = _CLAUSE.fullmatch(part)
        if match is None:
            raise ValueError(f"{describe(part.strip())} is not a version bound")
        clauses.append((match.group(1) or "==", int(match.group(2))))
    return clauses


def version_in_range(version: int, text: str) -> bool:
    """Whether schema ``version`` satisfies every bound of the range ``text``."""
    return all(_OPERATORS[op](version, bound) for op, bound in parse_version_range(text))


def _range(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"=={value}"
    if not isinstance(value, str):
        return value
    try:
        clauses = parse_version_range(value)
    except ValueError as err:
        raise issue_error(f"bad version range {describe(value)}: {err}", hint=_RANGE_HINT) from None
    # Empty ranges are mistakes like ">=8,<6"; check on every version the bounds mention.
    candidates = {0} | {bound + delta for _, bound in clauses for delta in (-1, 0, 1)}
    if not any(c >= 0 and version_in_range(c, value) for c in candidates):
        raise issue_error(f"version range {describe(value)} allows no version", hint=_RANGE_HINT)
    return value


VersionRange = Annotated[
    str,
    BeforeValidator(_range),
    WithJsonSchema({"type": "string", "pattern": RANGE_PATTERN, "examples": [">=6,<8"]}),
]


class SchemaCompat(SpecModel):
    """The database schema versions a release can run against, and the one it migrates to."""

    requires: VersionRange = Field(
        description='Schema versions this code works with, e.g. ">=6,<8" (a plain number means '
        "exactly that version)."
    )
    migrates_to: int | None = Field(
        default=None,
        ge=0,
        description="Schema version this release migrates the database to; null: no migration.",
    )

    @model_validator(mode="after")
    def _runs_on_its_own_migration(self) -> SchemaCompat:
        if self.migrates_to is not None and not self.allows(self.migrates_to):
            raise issue_error(
                f"migrates_to {self.migrates_to} is outside requires {describe(self.requires)}",
                at=("migrates_to",),
                hint="a release must be able to run on the schema it migrates to",
            )
        return self

    def allows(self, version: int) -> bool:
        """Whether this release can run against schema ``version``."""
        return version_in_range(version, self.requires)
