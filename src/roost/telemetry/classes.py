"""Status classes: how a response status is counted.

Every request lands in exactly one class. ``error`` is for requests that got no response from a
backend at all (connect refused, reset mid-response, timeout): the proxy records them with
:data:`NO_RESPONSE`, so an outage of every replica shows up as errors rather than as silence.
"""

from __future__ import annotations

from typing import Final

#: The classes, in the order the embedded store keeps their counts.
CODE_CLASSES: Final = ("2xx", "3xx", "4xx", "5xx", "error")

#: The status to record for a request that got no response from a backend.
NO_RESPONSE: Final = 0

#: Index of the first class that counts as failed in an error ratio (``5xx`` and ``error``).
FAILED_FROM: Final = 3


def class_index(status: int) -> int:
    """The index in :data:`CODE_CLASSES` of ``status``.

    Anything that is not a final HTTP status (below 200 or above 599, :data:`NO_RESPONSE`
    included) is ``error``: the proxy does not forward informational responses as final ones,
    so seeing one here means something went wrong on the way.
    """
    if 200 <= status <= 599:
        return status // 100 - 2
    return 4


def code_class(status: int) -> str:
    """The class label of ``status``: ``"2xx"`` … ``"5xx"`` or ``"error"``."""
    return CODE_CLASSES[class_index(status)]
