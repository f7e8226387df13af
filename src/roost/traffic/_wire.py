"""HTTP/1.1 messages as data: the parsed head, the events of a message, and the bytes the
proxy writes back (heads with hop-by-hop headers handled, chunk framing, local replies)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

#: Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus ``expect``
#: (the proxy answers ``100-continue`` itself). Framing headers are handled separately.
HOP_BY_HOP: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"upgrade",
        b"expect",
    }
)
REVISION_HEADER: Final = b"x-roost-revision"


class BadMessage(Exception):
    """The peer sent something that is not HTTP/1.x."""


class IncompleteMessage(ConnectionError):
    """The peer closed the connection in the middle of a message."""


@dataclass(slots=True)
class Head:
    """The start line and headers of a request or response."""

    version: str
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool
    began_at: float
    method: bytes = b""
    target: bytes = b""
    status: int = 0
    reason: bytes = b""
    length: int | None = None
    chunked: bool = False
    upgrade: bool = False
    hop: frozenset[bytes] = field(default=frozenset())

    def get(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lower case), or ``None``."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def has_body(self) -> bool:
        """Whether a request carries a body (requests never run until close)."""
        return self.chunked or bool(self.length)


class _End:
    __slots__ = ()

    def __repr__(self) -> str:
        return "END"


#: The event that closes a message.
END: Final = _End()
Event = Head | bytes | _End


def chunk(data: bytes) -> bytes:
    """``data`` framed as one chunk of a chunked body."""
    return b"%x\r\n%b\r\n" % (len(data), data)


LAST_CHUNK: Final = b"0\r\n\r\n"
#: Reason phrases of the statuses roost answers itself.
REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"


def request_head(head: Head, *, client_ip: str | None, host: bytes) -> bytes:
    """The head to send upstream: hop-by-hop headers dropped, ``x-forwarded-for`` extended,
    ``host`` added if the client (HTTP/1.0) sent none — HTTP/1.1 requires one."""
    out = [head.method, b" ", head.target, b" HTTP/1.1\r\n"]
    hop = head.hop
    forwarded: bytes | None = None
    has_host = False
    for name, value in head.headers:
        key = name.lower()
        if key in hop:
            continue
        if key == b"host":
            has_host = True
        if key == b"x-forwarded-for":
            forwarded = value if forwarded is None else forwarded + b", " + value
            continue
        out += (name, b": ", value, b"\r\n")
    if client_ip is not None:
        ip = client_ip.encode()
        forwarded = ip if forwarded is None else forwarded + b", " + ip
    if forwarded is not None:
        out += (b"x-forwarded-for: ", forwarded, b"\r\n")
    if not has_host:
        out += (b"host: ", host, b"\r\n")
    out.append(b"\r\n")
    return b"".join(out)


def response_head(head: Head, *, revision: bytes, chunked: bool | None, close: bool) -> bytes:
    """The head to send the client.

    ``chunked`` True/False forces the framing headers (``transfer-encoding`` is replaced); None
    keeps the upstream's framing headers as they are (a response without a body).
    """
    out = [b"HTTP/1.1 %d %b\r\n" % (head.status, head.reason)]
    hop = head.hop
    for name, value in head.headers:
        key = name.lower()
        if key in hop or key == REVISION_HEADER:
            continue
        if chunked is not None and key == b"transfer-encoding":
            continue
        out += (name, b": ", value, b"\r\n")
    if chunked:
        out.append(b"transfer-encoding: chunked\r\n")
    out += (b"x-roost-revision: ", revision, b"\r\n")
    if close:
        out.append(b"connection: close\r\n")
    out.append(b"\r\n")
    return b"".join(out)


def local_response(
    status: int, reason: str, body: bytes, *, content_type: bytes, close: bool
) -> bytes:
    """A complete response the proxy (or admin listener) answers itself."""
    return b"".join(
        [
            b"HTTP/1.1 %d %b\r\n" % (status, reason.encode()),
            b"content-type: ",
            content_type,
            b"\r\ncontent-length: %d\r\n" % len(body),
            b"connection: close\r\n" if close else b"",
            b"\r\n",
            body,
        ]
    )
