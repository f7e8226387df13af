"""The control plane's one error for an operation it refuses: the API answers it as
``{"error", "hint"}`` with its ``status``; the CLI prints it in one line.

Its own module, at the bottom of ``roost.control``, so that raising it imports nothing else.
"""

from __future__ import annotations


class OperationError(Exception):
    """An operation the user asked for cannot be done; ``status`` is the HTTP status."""

    def __init__(self, message: str, *, status: int = 400, hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.hint = hint
