"""The one definition of every name roost accepts, for roost.yaml, the API and the CLI alike.

A name that roost.yaml refuses must not slip in through an API body or a CLI flag: names end
up in URLs (the agent's API), directory names (the local runtime), process environments and
the state store, so a name is checked against these patterns *before* anything is stored.
Each ``*_problem`` function returns ``None`` for a good value, else one sentence saying what
is wrong, and each ``*_RULE`` is the hint that says what would be right.
"""

from __future__ import annotations

import re

NAME_PATTERN = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
"""Services, environments, SLOs, receivers...: a DNS label (Kubernetes can use it as is)."""
NAME_RULE = 'lowercase letters, digits and "-", starting with a letter, at most 63 characters'

RELEASE_PATTERN = r"^[a-z][-a-z0-9]{0,79}$"
"""Release ids (``web-r3``), which are also revision names, and build ids (``web-b3``): a
service name, a dash, a letter and a sequence number. The pattern also admits a leading part
of one, which the store resolves when it is unique."""
RELEASE_RULE = 'a release id such as "web-r3": lowercase letters, digits and "-"'

ID_PATTERN = r"^[0-9A-Za-z]{1,26}(…|\.\.\.)?$"
"""Rollout and event ids (26 characters of Crockford base32), or a leading part of one (as
listings shorten it, with its "…")."""
ID_RULE = "an id such as 01J9Z3K4X5...: letters and digits, at most 26 (a unique prefix will do)"

ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""Environment variable names, as POSIX shells accept them."""
ENV_NAME_RULE = "use letters, digits and _, not starting with a digit"
ENV_NAME_MAX = 256

_NAME = re.compile(NAME_PATTERN)
_RELEASE = re.compile(RELEASE_PATTERN)
_ID = re.compile(ID_PATTERN)
_ENV_NAME = re.compile(ENV_NAME_PATTERN)


def shown(value: str) -> str:
    """``value`` quoted for a message, control characters and lone surrogates escaped, so the
    message itself can always be printed and encoded."""
    text = value if len(value) <= 60 else value[:57] + "..."
    return repr(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def name_problem(value: str, *, what: str = "name") -> str | None:
    if _NAME.fullmatch(value):
        return None
    return f"{shown(value)} is not a valid {what}"


def release_problem(value: str, *, what: str = "release id") -> str | None:
    if _RELEASE.fullmatch(value):
        return None
    return f"{shown(value)} is not a valid {what}"


def id_problem(value: str, *, what: str = "id") -> str | None:
    if _ID.fullmatch(value):
        return None
    return f"{shown(value)} is not a valid {what}"


def env_name_problem(value: str) -> str | None:
    if len(value) <= ENV_NAME_MAX and _ENV_NAME.fullmatch(value):
        return None
    return f"{shown(value)} is not a valid environment variable name"


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Free text (an actor, a reason, an environment value) that roost can store, print and
    pass to a process: no NUL or other control character (tabs and, when ``multiline``,
    newlines aside) and no lone surrogate (it has no UTF-8 encoding)."""
    allowed = "\t\n\r" if multiline else "\t"
    for index, char in enumerate(value):
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            return f"character {index} is a lone surrogate (U+{code:04X}), which is not text"
        if (code < 0x20 or code == 0x7F) and char not in allowed:
            return f"character {index} is a control character (U+{code:04X})"
    return None
