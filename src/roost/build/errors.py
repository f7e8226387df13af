"""What ``roost.build`` raises on purpose: one line a person can act on, plus a hint."""

from __future__ import annotations


class BuildError(Exception):
    """A build cannot start or run (no git repository, unknown ref, no pipeline, ...)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message
