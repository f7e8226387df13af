"""Registry references: ``[http(s)://]HOST[:PORT]/NAME[:TAG|@DIGEST]``.

A registry host is always written out (there is no implicit Docker Hub: pushing a company's
service to a public registry by accident is worse than typing a host name). Loopback hosts
speak plain HTTP unless ``https://`` is written, as Docker treats them; every other host speaks
HTTPS unless ``http://`` is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from roost.artifacts.digests import is_digest
from roost.artifacts.errors import BadReference

NAME_PATTERN = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
_NAME = re.compile(NAME_PATTERN)
_TAG = re.compile(TAG_PATTERN)
_HOST = re.compile(r"(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?")
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
_EXAMPLE = "e.g. 127.0.0.1:5000/shop/web:1.0 or registry.example.com/shop/web@sha256:…"


@dataclass(frozen=True)
class RegistryRef:
    """A repository in a registry, optionally with a tag or digest."""

    scheme: str
    host: str
    name: str
    tag: str | None = None
    digest: str | None = None

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def reference(self) -> str | None:
        """What goes after ``/manifests/``: the digest if given, else the tag."""
        return self.digest or self.tag

    def with_reference(self, *, tag: str | None = None, digest: str | None = None) -> RegistryRef:
        return replace(self, tag=tag, digest=digest)

    def __str__(self) -> str:
        text = f"{self.host}/{self.name}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_registry_ref(text: str, *, require_reference: bool = False) -> RegistryRef:
    """Parse a registry reference; :class:`BadReference` with an example if malformed."""
    original = text
    scheme = None
    for prefix in ("http://", "https://"):
        if text.startswith(prefix):
            scheme, text = prefix[:-3], text[len(prefix) :]
    host, slash, rest = text.partition("/")
    # Docker's rule: the first part is a registry host if it has a dot or a port, or is
    # localhost; anything else would be a Docker Hub namespace, which roost never assumes.
    looks_like_host = "." in host or ":" in host or host == "localhost"
    if not slash or not looks_like_host or not _HOST.fullmatch(host) or not rest:
        raise BadReference(
            f"{original!r} is not a registry reference (it must start with the registry host)",
            hint=_EXAMPLE,
        )
    digest = None
    if "@" in rest:
        rest, _, digest = rest.partition("@")
        if not is_digest(digest):
            raise BadReference(f"{digest!r} in {original!r} is not a sha256 digest", hint=_EXAMPLE)
    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise BadReference(f"{tag!r} in {original!r} is not a valid tag", hint=_EXAMPLE)
    if not _NAME.fullmatch(rest):
        raise BadReference(
            f"{rest!r} in {original!r} is not a repository name",
            hint="lowercase letters, digits, and . _ - separators, parts joined by /",
        )
    if require_reference and tag is None and digest is None:
        raise BadReference(f"{original!r} names no tag or digest", hint=_EXAMPLE)
    hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    if scheme is None:
        scheme = "http" if hostname in _LOOPBACK else "https"
    return RegistryRef(scheme=scheme, host=host, name=rest, tag=tag, digest=digest)
