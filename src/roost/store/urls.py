"""Which database to open, and how to print its address safely.

Resolution order: an explicit URL, then ``ROOST_DATABASE_URL``, then SQLite at
``<root>/.roost/state.db``. Only two drivers are accepted, spelled out in full, because a bare
``postgresql://`` would make SQLAlchemy reach for psycopg2, which roost does not ship.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from roost.store.errors import BadDatabaseURL

ENV_VAR = "ROOST_DATABASE_URL"
DEFAULT_RELATIVE_PATH = Path(".roost") / "state.db"

Dialect = Literal["sqlite", "postgresql"]

_DRIVERS: dict[str, Dialect] = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql+psycopg": "postgresql",
}


def resolve_url(
    url: str | None, *, root: Path | None = None, environ: Mapping[str, str] | None = None
) -> URL:
    """Pick the database URL (explicit > environment > default SQLite file) and validate it."""
    env = os.environ if environ is None else environ
    if url is None:
        url = env.get(ENV_VAR) or None
    if url is None:
        base = Path.cwd() if root is None else root
        return URL.create("sqlite", database=str((base / DEFAULT_RELATIVE_PATH).absolute()))
    return parse_url(url)


def parse_url(text: str) -> URL:
    """Parse and validate a database URL, raising :class:`BadDatabaseURL` with a hint."""
    stripped = text.strip()
    if not stripped:
        raise BadDatabaseURL("the database URL is empty")
    try:
        parsed = make_url(stripped)
    except (ArgumentError, ValueError) as exc:
        raise BadDatabaseURL(
            f"cannot parse database URL {redact_text(stripped)!r}: {exc}"
        ) from None
    shown = redact(parsed)
    if parsed.drivername not in _DRIVERS:
        raise BadDatabaseURL(
            f"unsupported database URL {shown}: roost speaks SQLite and PostgreSQL "
            f"(via psycopg), not {parsed.drivername!r}"
        )
    if dialect_of(parsed) == "sqlite":
        if (
            not parsed.database
            or parsed.database == ":memory:"
            or parsed.database.startswith("file:")
        ):
            raise BadDatabaseURL(
                f"SQLite URL {shown} names no database file (in-memory databases are not "
                "supported: each connection would see a different, empty database)",
                hint="use sqlite:///relative/path.db or sqlite:////absolute/path.db",
            )
    elif not parsed.database:
        raise BadDatabaseURL(
            f"PostgreSQL URL {shown} names no database",
            hint="add the database name: postgresql+psycopg://user@host:port/dbname",
        )
    return parsed


def dialect_of(url: URL) -> Dialect:
    return _DRIVERS[url.drivername]


def redact(url: URL) -> str:
    """The URL as text with any password replaced by ``***``."""
    return url.render_as_string(hide_password=True)


def redact_text(text: str) -> str:
    """Best-effort redaction for a string that failed to parse as a URL: drop ``:password@``."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo or "/" in userinfo:
        return text
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
