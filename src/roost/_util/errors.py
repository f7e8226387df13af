"""The one shape of roost's deliberate errors: a message and a hint for the person reading it."""

from __future__ import annotations


class HintedError(Exception):
    """An error raised on purpose, with a one-line message and a hint (what to do about it).

    Each package derives its own base (``StoreError``, ``LeaseError``, ``ArtifactError``) so
    callers catch by package; a subclass sets ``default_hint`` for the hint it usually needs.
    """

    default_hint = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint

    def __str__(self) -> str:
        return self.message
