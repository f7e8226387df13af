"""Keep secrets out of messages: every URL roost prints goes through :func:`redact_url`."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"^(?P<scheme>[a-zA-Z][\w+.-]*://)(?P<user>[^:@/]*):(?P<password>[^@/]*)@")


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", url)
