"""Calling a running ``roost serve`` from the CLI: find it, call it with a credential, turn
failures into one line.

The credential: ``--token`` (before the command: ``roost --token T deploy web``), then
``$ROOST_TOKEN``, then the project owner's token that ``roost serve`` saved in
``.roost/auth/token`` on its first start, so one person on their own machine never types one.
``--as NAME`` asks the API to record the call as NAME's, impersonated: only an admin may.
"""

from __future__ import annotations

import functools
import os
import ssl
from pathlib import Path
from typing import Any

from roost._util.processes import pid_alive
from roost.cli._options import project_root
from roost.cli._output import fail
from roost.control.paths import API_FILE, STATE_DIR, TOKEN_ENV, read_api_file, read_owner_token

IMPERSONATE_HEADER = "X-Roost-As"


class _Credentials:
    """What this CLI process sends: set by the root ``--token`` option, the project
    :func:`api_url` resolved, and a command's ``--as``."""

    token: str | None = None
    project: Path | None = None
    acting_as: str | None = None


def use_token(token: str | None) -> None:
    """``roost --token TOKEN``: wins over $ROOST_TOKEN and the saved owner token."""
    _Credentials.token = token.strip() if token and token.strip() else None


def act_as(name: str | None) -> None:
    """``--as NAME``: every call of this command asks to be recorded as NAME's (admin only)."""
    _Credentials.acting_as = name.strip() if name and name.strip() else None


def use_project(root: Path) -> None:
    """Use the owner token saved for the project in ``root`` (when nothing overrides it)."""
    _Credentials.project = root


def credential() -> str | None:
    """The token this CLI sends, if it has one."""
    if _Credentials.token:
        return _Credentials.token
    if env := os.environ.get(TOKEN_ENV, "").strip():
        return env
    if _Credentials.project is not None:
        return read_owner_token(_Credentials.project / STATE_DIR)
    return None


def auth_headers() -> dict[str, str]:
    headers = {}
    if token := credential():
        headers["Authorization"] = f"Bearer {token}"
    if _Credentials.acting_as:
        headers[IMPERSONATE_HEADER] = _Credentials.acting_as
    return headers


CA_ENV = "ROOST_CA_FILE"

# The CA a project's api.json recorded next to its URL (a private CA that signed the API's
# certificate), by that URL; an explicit --cacert / ROOST_CA_FILE wins over it.
_recorded_cas: dict[str, str] = {}
_explicit_ca: list[Path] = []


def trust_ca(path: Path | None) -> None:
    """Verify https APIs against the CA certificates in ``path`` (``roost --cacert``,
    ``ROOST_CA_FILE``) instead of the system's; a missing file exits 2."""
    if path is None:
        return
    if not path.is_file():
        fail(f"--cacert {path}: no such file", hint=f"a PEM CA file (or unset {CA_ENV})", code=2)
    _explicit_ca[:] = [path]


@functools.lru_cache(maxsize=8)
def _context(cafile: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile)
    except (ssl.SSLError, OSError) as exc:
        fail(f"cannot use the CA file {cafile}: {exc}", hint="a PEM CA certificate", code=2)


def verify_for(url: str, *, recorded_ca: object = None) -> ssl.SSLContext | bool:
    """How to verify the server at ``url`` (httpx's ``verify``): against --cacert /
    ROOST_CA_FILE, else the CA its project recorded (``recorded_ca``: api.json's ``ca``, or
    the one :func:`recorded_api` saw), else the system's trust store."""
    if _explicit_ca:
        return _context(str(_explicit_ca[0]))
    if isinstance(recorded_ca, str):
        return _context(recorded_ca)
    for base, ca in _recorded_cas.items():
        if url == base or url.startswith(base + "/"):
            return _context(ca)
    return True


def recorded_api(project: Path | None) -> str | None:
    """The URL of this project's running ``roost serve``, as it recorded it in
    ``.roost/api.json`` when it started listening (``roost up`` starts it); ``None`` when none
    is recorded or the recorded process has exited. Outside a project: exit 2."""
    recorded = read_api_file(project_root(project) / STATE_DIR)
    url = recorded.get("url") if recorded else None
    pid = recorded.get("pid") if recorded else None
    if not isinstance(url, str) or (isinstance(pid, int) and not pid_alive(pid)):
        return None
    ca = recorded.get("ca") if recorded else None
    if isinstance(ca, str):
        _recorded_cas[url.rstrip("/")] = ca
    return url.rstrip("/")


def _project_folder(project: Path | None) -> Path | None:
    """The project's folder when there is one (its saved owner token is the default
    credential); outside a project only --api / ROOST_API_URL and a token can reach an API."""
    from roost.spec import find_project_file

    found = find_project_file(project if project is not None else Path.cwd())
    return None if found is None else found.parent


def api_url(api: str | None, project: Path | None) -> str:
    """--api, then ROOST_API_URL, then the project's running API (.roost/api.json). There is no
    default address: one on a fixed port may be another project's control plane."""
    _Credentials.project = _project_folder(project)
    if api:
        return api.rstrip("/")
    if env := os.environ.get("ROOST_API_URL"):
        return env.rstrip("/")
    url = recorded_api(project)
    if url is None:
        root = project_root(project)
        fail(
            f"no control plane runs for the project in {root} "
            f"(no running `roost serve` recorded in {STATE_DIR}/{API_FILE})",
            hint="start it with `roost up` (or `roost serve`), or pass --api URL",
        )
    return url


def call(
    method: str,
    url: str,
    *,
    json: Any = None,
    params: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Any:
    """One API call; any failure prints ``roost: error: ...`` and exits non-zero. Parts of
    ``url`` that come from the user must be escaped (:func:`roost.cli._inputs.part`); ``params``
    are escaped here."""
    import httpx

    try:
        response = httpx.request(
            method,
            url,
            json=json,
            params=params,
            headers=auth_headers(),
            timeout=timeout,
            verify=verify_for(url),
        )
    except httpx.InvalidURL as exc:
        fail(f"bad API URL {url!r}: {exc}", hint="e.g. --api http://127.0.0.1:7070", code=2)
    except httpx.UnsupportedProtocol:
        fail(f"bad API URL {url!r}", hint="it must start with http:// or https://", code=2)
    except httpx.TransportError as exc:
        base = url.split("/api/", maxsplit=1)[0]
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            fail(
                f"the roost API at {base} presented a TLS certificate that cannot be verified "
                f"({str(exc).rsplit(':', 1)[-1].strip()})",
                hint=f"pass --cacert FILE (or set {CA_ENV}) with the CA that signed it",
            )
        fail(
            f"cannot reach the roost API at {base} ({type(exc).__name__})",
            hint="is `roost serve` running? start everything with `roost up`, or pass --api URL",
        )
    try:
        data = response.json()
    except ValueError:
        fail(f"{url} answered {response.status_code} without JSON", hint="is that a roost API?")
    if response.status_code >= 400:
        message = data.get("error") or data.get("detail") if isinstance(data, dict) else None
        if not isinstance(message, str):
            message = str(message or data)[:300]
        hint = data.get("hint") if isinstance(data, dict) else None
        if response.status_code == 401 and credential() is None:
            hint = (
                "no credential: roost serve saves the owner's token in .roost/auth/token on its "
                "first start; elsewhere set ROOST_TOKEN or pass --token (roost token create)"
            )
        fail(message, hint=hint if isinstance(hint, str) else None)
    return data
