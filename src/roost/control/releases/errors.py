"""The one error of cutting and running releases."""

from __future__ import annotations


class ReleaseError(Exception):
    """A release cannot be cut or run (unreadable config file, missing secret, ...)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint
