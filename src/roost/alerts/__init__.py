"""Alert routing: grouping, group wait, repeat interval and silences, in the Alertmanager
webhook format (version 4), or forwarded to a real Alertmanager.

:mod:`roost.alerts.routing` is pure (virtual clock); :mod:`roost.alerts.delivering` is the thin
httpx edge; :mod:`roost.alerts.silences` keeps silences in a JSON file under ``.roost/``.
"""

from roost.alerts.payloads import Alert, fingerprint, webhook_payload
from roost.alerts.routing import Notification, Route, Router
from roost.alerts.silences import Silence, SilenceError

__all__ = [
    "Alert",
    "Notification",
    "Route",
    "Router",
    "Silence",
    "SilenceError",
    "fingerprint",
    "webhook_payload",
]
