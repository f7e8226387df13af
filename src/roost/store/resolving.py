"""One way to find a row by what a person typed: the exact id, else a unique leading part of one.

Listings shorten ids (``roost history`` prints ``01JF3K…``), so a prefix must be accepted back,
by every command and endpoint that takes an id. Rules, the same for every kind of id:

- an exact id always wins (``web-r1`` is ``web-r1`` even when ``web-r10`` exists);
- a sequence id typed in full (``web-r1``, ``web-b7``) is only ever exact: a prefix of ``web-r1``
  is not ``web-r10``;
- a ULID (rollouts, events) is matched case-insensitively and a trailing ``…`` or ``...``
  (copied from a shortened listing) is ignored;
- no match is :class:`NotFound`; two or more is :class:`Ambiguous`, naming the candidates.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roost.store.errors import Ambiguous, NotFound

_SEQUENCE_ID = re.compile(r".+-[a-z][0-9]+")
_SHOWN = 5


def _escaped(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def resolve_id(
    conn: Connection, column: sa.Column[str], text: str, *, what: str, ulid: bool
) -> str:
    """The full id in ``column`` that ``text`` names (see the module's rules)."""
    typed = text.strip()
    if ulid:
        typed = typed.removesuffix("…").removesuffix("...").upper()
    if typed:
        exact = conn.execute(sa.select(column).where(column == typed)).first()
        if exact is not None:
            return str(exact[0])
    if not typed or (not ulid and _SEQUENCE_ID.fullmatch(typed)):
        raise NotFound(f"no {what} {text!r}")
    rows = conn.execute(
        sa.select(column)
        .where(column.like(_escaped(typed) + "%", escape="\\"))
        .order_by(column)
        .limit(_SHOWN + 1)
    ).all()
    if not rows:
        raise NotFound(f"no {what} {text!r}")
    if len(rows) > 1:
        names = ", ".join(str(r[0]) for r in rows[:_SHOWN])
        more = ", ..." if len(rows) > _SHOWN else ""
        raise Ambiguous(f"{what} {text!r} is ambiguous: it starts {names}{more}")
    return str(rows[0][0])
