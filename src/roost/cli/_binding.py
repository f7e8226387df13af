"""Where ``roost serve`` may listen, and with which certificate.

The API is the control plane's front door: on loopback only this machine's users reach it, on
any other address the whole network does, so there it must speak TLS. A non-loopback bind
without TLS is refused before anything is opened or bound, unless the operator says
``--insecure-http`` (a trusted network, a TLS-terminating proxy in front) and then hears a loud
warning every start.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from roost.cli._output import EXIT_INVALID, err_console, fail

# Wildcard binds accept connections on loopback too; the URL recorded for this machine's CLI
# names loopback, since a wildcard address is a place to listen, not one to connect to.
_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


@dataclass(frozen=True)
class Tls:
    """A certificate and key that load, and the CA clients should trust (when known)."""

    cert: Path
    key: Path
    ca: Path | None


def is_loopback(host: str) -> bool:
    """Whether ``host`` reaches only this machine: 127.0.0.0/8, ::1, or a name all of whose
    addresses are loopback (``localhost``). An address that does not resolve is not loopback."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    if not host:
        return False  # "" binds every interface
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]).is_loopback for info in infos
    )


def load_tls(cert: Path | None, key: Path | None, ca: Path | None) -> Tls | None:
    """Check ``--tls-cert/--tls-key/--tls-ca`` before anything is bound: both or neither, files
    that exist, a key that matches the certificate. Bad input exits 2 with one line."""
    if cert is None and key is None:
        if ca is not None:
            fail("--tls-ca needs --tls-cert and --tls-key", hint="or drop --tls-ca", code=2)
        return None
    if cert is None or key is None:
        given, missing = ("--tls-cert", "--tls-key") if key is None else ("--tls-key", "--tls-cert")
        fail(f"{given} needs {missing}", hint="pass the certificate and its private key", code=2)
    for option, path in (("--tls-cert", cert), ("--tls-key", key), ("--tls-ca", ca)):
        if path is not None and not path.is_file():
            fail(f"{option} {path}: no such file", hint="give the path of a PEM file", code=2)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        fail(
            f"cannot use --tls-cert {cert} with --tls-key {key}: {reason}",
            hint="both must be PEM, the key unencrypted and matching the certificate",
            code=EXIT_INVALID,
        )
    if ca is not None:
        try:
            ssl.create_default_context(cafile=str(ca))
        except (ssl.SSLError, OSError) as exc:
            fail(f"--tls-ca {ca} is not a PEM certificate: {exc}", hint="a PEM CA file", code=2)
    return Tls(cert=cert.resolve(), key=key.resolve(), ca=ca.resolve() if ca else None)


def check_exposure(host: str, *, tls: Tls | None, insecure_http: bool) -> None:
    """Refuse a non-loopback bind without TLS (exit 2) unless ``--insecure-http``, which is
    warned about. Called before the socket is bound, so a refused start listens nowhere."""
    if tls is not None or is_loopback(host):
        return
    if not insecure_http:
        fail(
            f"refusing to serve plain HTTP on {host or 'every interface'}: the API would be "
            "reachable from the network without TLS",
            hint="pass --tls-cert and --tls-key, bind --host 127.0.0.1, or accept the risk "
            "with --insecure-http",
            code=EXIT_INVALID,
        )
    err_console.print(
        f"roost: WARNING: serving the API over plain HTTP on {host or 'every interface'} "
        "(--insecure-http): credentials and everything else cross the network unencrypted",
        markup=False,
    )


def advertised_url(requested: str, bound: str, port: int, *, tls: Tls | None) -> str:
    """The URL recorded in ``.roost/api.json`` for a socket bound to ``bound:port`` after
    ``--host requested``: a host name stays a name (the certificate names it, not its address);
    a wildcard becomes loopback."""
    try:
        ipaddress.ip_address(requested.strip("[]"))
    except ValueError:
        host = requested or bound  # a name (or "" for every interface)
    else:
        host = bound
    host = _WILDCARDS.get(host, host)
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"
