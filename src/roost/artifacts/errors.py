"""What ``roost.artifacts`` raises.

Every failure a user can cause or meet (a mistyped reference, a registry that is down or says
no, content that does not match its digest) is an :class:`ArtifactError` whose ``str()`` is one
line naming the thing involved and whose ``hint`` says what to do next, so the CLI prints it as
it is — never a traceback.
"""

from __future__ import annotations

from roost._util.errors import HintedError


class ArtifactError(HintedError):
    """Base of every error raised on purpose by roost.artifacts."""


class BadReference(ArtifactError):
    """A digest, tag or registry reference that cannot be parsed."""


class ArtifactNotFound(ArtifactError):
    """No artifact (or blob) under that reference, locally or in a registry."""

    default_hint = "`roost artifacts list` shows what the local store holds"


class DigestMismatch(ArtifactError):
    """Content does not hash to the digest it was stored or served under. Nothing was kept."""

    default_hint = "the content was corrupted or tampered with; nothing was written"


class LayoutError(ArtifactError):
    """The OCI image layout on disk is unusable (not a layout, unreadable, corrupt index)."""


class RegistryError(ArtifactError):
    """Base of the errors talking to a registry."""


class RegistryUnreachable(RegistryError):
    """The registry could not be reached (refused, DNS, timeout, TLS)."""

    default_hint = "check that the registry is running and the address (host:port) is right"


class RegistryRefused(RegistryError):
    """The registry answered, but said no (auth, read-only, unknown name, bad request)."""


class MaterializeError(ArtifactError):
    """An artifact could not be unpacked into a runnable directory with its environment."""
