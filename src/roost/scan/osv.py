"""OSV records (schema 1.6): the models the database stores and matching reads.

Only what roost reads is typed; every other key an advisory carries (``credits``,
``database_specific`` of any shape, fields from newer schema minors) is kept as-is, because a
record we can round-trip is a record we can store and show without losing anything. A record
that does not fit these models is *malformed*: the importer skips it with a warning naming its
file, it never stops an import.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

RangeType = Literal["ECOSYSTEM", "SEMVER", "GIT"]

_PEP503 = re.compile(r"[-_.]+")


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Event(_Model):
    """One point of a range: exactly one of introduced / fixed / last_affected / limit."""

    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Event:
        set_ = [k for k in ("introduced", "fixed", "last_affected", "limit") if getattr(self, k)]
        if len(set_) != 1:
            raise ValueError(
                f"an event has exactly one of introduced/fixed/last_affected/limit, "
                f"got {set_ or 'none'}"
            )
        return self

    @property
    def kind(self) -> str:
        return next(
            k for k in ("introduced", "fixed", "last_affected", "limit") if getattr(self, k)
        )

    @property
    def version(self) -> str:
        value = getattr(self, self.kind)
        assert isinstance(value, str)
        return value


class Range(_Model):
    type: RangeType
    repo: str | None = None
    events: list[Event] = Field(min_length=1)


class Package(_Model):
    ecosystem: str
    name: str
    purl: str | None = None


class Severity(_Model):
    type: str
    """``CVSS_V2``, ``CVSS_V3``, ``CVSS_V4`` or ``Ubuntu``."""
    score: str


class Affected(_Model):
    package: Package | None = None
    severity: list[Severity] = Field(default_factory=list)
    ranges: list[Range] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)
    ecosystem_specific: dict[str, Any] | None = None
    database_specific: dict[str, Any] | None = None


class Reference(_Model):
    type: str
    url: str


class Record(_Model):
    """One advisory as published (``PYSEC-…``, ``GHSA-…``, ``OSV-…``)."""

    schema_version: str | None = None
    id: str = Field(min_length=1)
    modified: datetime
    published: datetime | None = None
    withdrawn: datetime | None = None
    aliases: list[str] = Field(default_factory=list)
    related: list[str] = Field(default_factory=list)
    upstream: list[str] = Field(default_factory=list)
    summary: str | None = None
    details: str | None = None
    severity: list[Severity] = Field(default_factory=list)
    affected: list[Affected] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    database_specific: dict[str, Any] | None = None

    @property
    def title(self) -> str:
        """A one-line description: the summary, else the first line of the details."""
        if self.summary:
            return self.summary.strip()
        return (self.details or "").strip().split("\n", 1)[0][:120]


class MalformedRecord(ValueError):
    """A JSON document that is not an OSV record; ``str()`` says where it is wrong."""


def parse_record(data: Any) -> Record:
    """Validate one decoded JSON document as a :class:`Record` (:class:`MalformedRecord`)."""
    if not isinstance(data, dict):
        raise MalformedRecord(f"expected a JSON object, got {type(data).__name__}")
    try:
        return Record.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        raise MalformedRecord(f"{where}: {first['msg']}") from None


def normalize_name(ecosystem: str, name: str) -> str:
    """The index key of a package name: PEP 503 for PyPI (``PyYAML`` = ``pyyaml``,
    ``zope.interface`` = ``zope-interface``); other ecosystems compare names as written."""
    if base_ecosystem(ecosystem) == "PyPI":
        return _PEP503.sub("-", name).lower()
    return name


def base_ecosystem(ecosystem: str) -> str:
    """``Debian:12`` → ``Debian``: the ecosystem without its release suffix."""
    return ecosystem.split(":", 1)[0]
