"""``${type}``, ``${subject}``, ``${data.severity}`` in a sink's text (pure). Deliberately not
``str.format`` (which can reach attributes of the objects it formats): only the event's
attributes and data fields, as strings; an unknown one becomes empty."""

from __future__ import annotations

import re
from typing import Any

from roost.events.filtering import attribute

_FIELD = re.compile(r"\$\{([a-z0-9]+(?:\.[A-Za-z0-9_\-]+)*)\}")


def render(text: str, envelope: dict[str, Any]) -> str:
    """``text`` with each ``${name}`` replaced by the event's attribute or data field."""
    return _FIELD.sub(lambda m: attribute(envelope, m.group(1)) or "", text)


def render_params(params: Any, envelope: dict[str, Any]) -> Any:
    """``params`` (an action's ``with:``) with every string rendered."""
    if isinstance(params, str):
        return render(params, envelope)
    if isinstance(params, dict):
        return {k: render_params(v, envelope) for k, v in params.items()}
    if isinstance(params, list):
        return [render_params(v, envelope) for v in params]
    return params
