"""Errors a runtime raises to its caller; each message is one line a person can act on."""

from __future__ import annotations


class RuntimeBackendError(Exception):
    """Base class of the runtime's errors."""


class RevisionNotFoundError(RuntimeBackendError, LookupError):
    """The runtime is not running this (service, revision)."""

    def __init__(self, service: str, revision: str) -> None:
        super().__init__(f"no revision {revision!r} of service {service!r} is running")
        self.service = service
        self.revision = revision


class RevisionConflictError(RuntimeBackendError):
    """A different spec is already running under the same (service, revision)."""

    def __init__(self, service: str, revision: str) -> None:
        super().__init__(
            f"revision {revision!r} of service {service!r} is already running with a different "
            "spec (revisions are immutable: start a new revision instead)"
        )
        self.service = service
        self.revision = revision
