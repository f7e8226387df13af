"""The project owner's admin token: made on the first ``roost serve`` (``roost up`` starts it),
saved where the CLI finds it (``.roost/auth/token``, 0600 in a 0700 folder), so one person on
their own machine never types a credential.

A later start reuses the saved token while the store still accepts it; when it does not (the
store was replaced, the token revoked or expired), a new one is made and saved in its place.
Whoever can read ``.roost/`` can read the SQLite store anyway, so the file gives nobody more
than they had.
"""

from __future__ import annotations

import getpass
import os
import re
from pathlib import Path

from roost._util import event_catalog as events
from roost.api.auth.permissions import ALL, Role
from roost.api.auth.tokens import new_token, token_hash
from roost.control.paths import read_owner_token, write_owner_token
from roost.store import Conflict, Store

_NOT_NAME = re.compile(r"[^a-z0-9-]+")


def owner_name() -> str:
    """The OS user's name as a token name (the subject the audit log shows)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = f"uid-{os.getuid()}"
    name = _NOT_NAME.sub("-", user.lower()).strip("-")[:50].strip("-")
    if not name or not name[0].isalpha():
        name = f"owner-{name}".strip("-")
    return name


def ensure_owner_token(store: Store, state_dir: Path, *, created_by: str) -> str:
    """The owner's usable admin token, made (and saved) when there is none; its name."""
    for _ in range(5):
        saved = read_owner_token(state_dir)
        if saved is not None:
            record = store.tokens.find_by_hash(token_hash(saved))
            if record is not None and record.usable(store.clock.now()):
                return record.name
        try:
            return _make(store, state_dir, created_by=created_by)
        except Conflict:
            continue  # another roost serve of this project made one at the same moment
    raise Conflict("could not make the project owner's API token", hint="start roost serve again")


def _make(store: Store, state_dir: Path, *, created_by: str) -> str:
    base = owner_name()
    taken = {t.name for t in store.tokens.list()}
    name = base
    for n in range(2, 1000):
        if name not in taken:
            break
        name = f"{base}-{n}"
    token = new_token()
    store.tokens.create(
        name,
        token_hash=token_hash(token),
        created_by=created_by,
        bindings=[(Role.ADMIN.value, ALL, ALL)],
    )
    write_owner_token(state_dir, token)
    store.events.append(
        events.AUTH_TOKEN_CREATED,
        source=events.SOURCE_AUTH,
        subject=f"token/{name}",
        data={"name": name, "role": Role.ADMIN.value, "environment": ALL, "owner": True},
        actor=created_by,
    )
    return name
