"""A client for the OCI distribution API (``/v2/``), over httpx.

What it does, in the spec's terms: check the API (``GET /v2/``), ``HEAD`` a blob to skip what
the registry has, upload blobs (``POST`` to open a session, then one ``PUT`` for small blobs or
``PATCH`` chunks and a closing ``PUT`` for big ones), ``PUT`` and ``GET`` manifests, stream blobs
out with ``GET``, and list tags. Authentication: HTTP Basic and the token flow
(``WWW-Authenticate: Bearer realm=…``) that public registries use, with credentials from
``ROOST_REGISTRY_USERNAME`` / ``ROOST_REGISTRY_PASSWORD``.

Errors become one-line :class:`RegistryError`\\ s naming the registry and the operation, with the
registry's own error codes (``DENIED``, ``UNSUPPORTED``, ``MANIFEST_UNKNOWN``, …) when it sent
them. Nothing returned by a registry is trusted: manifests are checked against the digest asked
for (and the one the registry claims), blobs are verified while they stream.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

import httpx

from roost.artifacts.digests import CHUNK, digest_bytes
from roost.artifacts.errors import (
    ArtifactNotFound,
    DigestMismatch,
    RegistryError,
    RegistryRefused,
    RegistryUnreachable,
)
from roost.artifacts.manifests import MANIFEST_TYPES

USERNAME_ENV = "ROOST_REGISTRY_USERNAME"
PASSWORD_ENV = "ROOST_REGISTRY_PASSWORD"  # noqa: S105 - the name of a variable, not a secret
MONOLITHIC_LIMIT = 64 << 20
"""Blobs up to this size go up in one PUT; bigger ones in PATCH chunks of this size."""
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_AUTH_HINT = f"set {USERNAME_ENV} and {PASSWORD_ENV} to credentials this registry accepts"


class RegistryClient:
    """One registry (``base_url`` like ``http://127.0.0.1:5000``). Use as a context manager."""

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        chunk_size: int = MONOLITHIC_LIMIT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.chunk_size = chunk_size
        username = username if username is not None else os.environ.get(USERNAME_ENV)
        password = password if password is not None else os.environ.get(PASSWORD_ENV)
        self._credentials = (username, password or "") if username else None
        self._tokens: dict[str, str] = {}
        self._basic = False
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=True,
            headers={"User-Agent": "roost"},
        )

    # -- plumbing --------------------------------------------------------------------------

    def _send(
        self, method: str, url: str, *, scope: str, what: str, stream: bool = False, **kw: Any
    ) -> httpx.Response:
        """Send a request with the right credentials; answer one 401 with the challenge's
        auth flow and send it once more. Transport failures become RegistryUnreachable."""
        for attempt in range(2):
            headers = {**kw.pop("headers", {}), **self._auth_headers(scope)}
            request = self._http.build_request(method, url, headers=headers, **kw)
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                raise RegistryUnreachable(
                    f"cannot reach the registry at {self.base_url} ({what}): {_reason(exc)}"
                ) from None
            if response.status_code != 401 or attempt == 1:
                return response
            challenge = response.headers.get("www-authenticate", "")
            response.close()
            if not self._answer(challenge, scope):
                raise RegistryRefused(
                    f"{self.base_url} refused {what}: authentication required", hint=_AUTH_HINT
                )
            kw["headers"] = headers
        raise AssertionError("unreachable")  # pragma: no cover

    def _auth_headers(self, scope: str) -> dict[str, str]:
        token = self._tokens.get(scope)
        if token:
            return {"Authorization": f"Bearer {token}"}
        if self._basic and self._credentials:
            user, password = self._credentials
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            return {"Authorization": f"Basic {token}"}
        return {}

    def _answer(self, challenge: str, scope: str) -> bool:
        """Act on a 401's challenge; whether sending the request again can succeed."""
        kind = challenge.split(" ", 1)[0].lower()
        if kind == "basic":
            if self._credentials is None or self._basic:
                return False
            self._basic = True
            return True
        if kind == "bearer":
            token = self._fetch_token(dict(_CHALLENGE_PARAM.findall(challenge)), scope)
            if token:
                self._tokens[scope] = token
                return True
        return False

    def _fetch_token(self, params: dict[str, str], scope: str) -> str | None:
        realm = params.get("realm")
        if not realm:
            return None
        query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
        auth = httpx.BasicAuth(*self._credentials) if self._credentials else None
        try:
            answer = httpx.get(realm, params=query, auth=auth, timeout=30.0)
        except httpx.TransportError as exc:
            raise RegistryUnreachable(
                f"cannot reach the token service {realm} of {self.base_url}: {_reason(exc)}"
            ) from None
        try:
            body = answer.json() if answer.status_code == 200 else None
        except ValueError:
            body = None
        token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        return token if isinstance(token, str) else None

    def _check(self, response: httpx.Response, what: str, *, ok: Iterable[int]) -> None:
        if response.status_code in tuple(ok):
            return
        if not response.is_closed:
            response.read()
        codes = _error_codes(response)
        text = f"{self.base_url} refused {what}: HTTP {response.status_code}"
        if codes:
            text += f" {codes}"
        elif response.reason_phrase:
            text += f" {response.reason_phrase}"
        not_found = {"MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN"}
        if response.status_code == 404 and (not codes or any(c in codes for c in not_found)):
            raise ArtifactNotFound(
                f"{what}: not found in {self.base_url}" + (f" ({codes})" if codes else ""),
                hint="check the repository name and the tag or digest",
            )
        hint = None
        if response.status_code in (401, 403):
            hint = _AUTH_HINT
        elif response.status_code in (405, 503) or "UNSUPPORTED" in codes:
            hint = "the registry may be read-only or not accept this operation"
        raise RegistryRefused(text, hint=hint)

    # -- API -------------------------------------------------------------------------------

    def ping(self) -> None:
        """Check that this is an OCI distribution registry we may talk to."""
        response = self._send("GET", "/v2/", scope="", what="GET /v2/")
        self._check(response, "GET /v2/ (API check)", ok=(200,))

    def blob_exists(self, name: str, digest: str) -> bool:
        """Whether the registry holds blob ``digest`` in repository ``name``."""
        what = f"HEAD {name} blob {digest[:19]}"
        response = self._send("HEAD", f"/v2/{name}/blobs/{digest}", scope=_pull(name), what=what)
        if response.status_code == 404:
            return False
        self._check(response, what, ok=(200,))
        return True

    def upload_blob(self, name: str, digest: str, size: int, chunks: Iterable[bytes]) -> None:
        """Upload blob ``digest`` of ``size`` bytes from ``chunks``.

        Small blobs go up monolithically (POST + one PUT); bigger ones in PATCH chunks. If
        ``chunks`` raises (e.g. :class:`DigestMismatch` from a verifying source) the upload
        session is cancelled and nothing is committed in the registry.
        """
        scope = _push(name)
        what = f"upload of blob {digest[:19]} to {name}"
        response = self._send("POST", f"/v2/{name}/blobs/uploads/", scope=scope, what=what)
        self._check(response, what, ok=(202,))
        location = _location(response)
        try:
            if size <= self.chunk_size:
                data = b"".join(chunks)
                self._finish(location, digest, data, scope=scope, what=what)
                return
            offset = 0
            for piece in _rechunk(chunks, self.chunk_size):
                headers = {
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(piece) - 1}",
                }
                response = self._send(
                    "PATCH", location, scope=scope, what=what, content=piece, headers=headers
                )
                self._check(response, what, ok=(202,))
                location = _location(response)
                offset += len(piece)
            self._finish(location, digest, b"", scope=scope, what=what)
        except BaseException:
            with contextlib.suppress(RegistryError):
                self._send("DELETE", location, scope=scope, what=what).close()
            raise

    def _finish(self, location: str, digest: str, data: bytes, *, scope: str, what: str) -> None:
        url = httpx.URL(location)
        url = url.copy_merge_params({"digest": digest})
        response = self._send(
            "PUT",
            str(url),
            scope=scope,
            what=what,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        self._check(response, what, ok=(201,))

    def put_manifest(self, name: str, reference: str, data: bytes, *, media_type: str) -> str:
        """Store manifest ``data`` under ``reference`` (tag or digest); returns its digest
        after checking the registry agrees with it."""
        digest = digest_bytes(data)
        what = f"PUT manifest {name}:{reference}"
        response = self._send(
            "PUT",
            f"/v2/{name}/manifests/{reference}",
            scope=_push(name),
            what=what,
            content=data,
            headers={"Content-Type": media_type},
        )
        self._check(response, what, ok=(201,))
        claimed = response.headers.get("docker-content-digest")
        if claimed and claimed != digest:
            raise DigestMismatch(
                f"{self.base_url} stored manifest {name}:{reference} as {claimed}, "
                f"but its content is {digest}"
            )
        return digest

    def get_manifest(self, name: str, reference: str) -> tuple[bytes, str, str]:
        """The manifest bytes, media type and (verified) digest of ``name:reference``."""
        what = f"manifest {name}{'@' if reference.startswith('sha256:') else ':'}{reference}"
        response = self._send(
            "GET",
            f"/v2/{name}/manifests/{reference}",
            scope=_pull(name),
            what=what,
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        self._check(response, what, ok=(200,))
        data = response.content
        digest = digest_bytes(data)
        expected = reference if reference.startswith("sha256:") else None
        claimed = response.headers.get("docker-content-digest")
        for wanted in (expected, claimed):
            if wanted and wanted != digest:
                raise DigestMismatch(
                    f"{what} from {self.base_url}: expected {wanted}, got {digest}"
                )
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        return data, media_type, digest

    @contextlib.contextmanager
    def fetch_blob(self, name: str, digest: str) -> Iterator[Iterator[bytes]]:
        """Stream blob ``digest`` (unverified chunks: wrap them in ``verified_chunks``)."""
        what = f"blob {digest[:19]} of {name}"
        response = self._send(
            "GET", f"/v2/{name}/blobs/{digest}", scope=_pull(name), what=what, stream=True
        )
        try:
            self._check(response, what, ok=(200,))
            yield _stream(response, self.base_url, what)
        finally:
            response.close()

    def tags(self, name: str) -> list[str]:
        """The repository's tags, sorted."""
        what = f"tag list of {name}"
        response = self._send("GET", f"/v2/{name}/tags/list", scope=_pull(name), what=what)
        self._check(response, what, ok=(200,))
        try:
            tags = response.json().get("tags") or []
        except (ValueError, AttributeError):
            tags = []
        return sorted(tag for tag in tags if isinstance(tag, str))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RegistryClient({self.base_url!r})"


def _pull(name: str) -> str:
    return f"repository:{name}:pull"


def _push(name: str) -> str:
    return f"repository:{name}:pull,push"


def _location(response: httpx.Response) -> str:
    location = response.headers.get("location")
    if not location:
        raise RegistryRefused(f"{response.request.url}: the registry sent no upload location")
    return str(response.request.url.join(location))


def _rechunk(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def _stream(response: httpx.Response, base_url: str, what: str) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes(CHUNK)
    except httpx.TransportError as exc:
        raise RegistryUnreachable(
            f"the connection to {base_url} broke while reading {what}: {_reason(exc)}"
        ) from None


def _error_codes(response: httpx.Response) -> str:
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for error in errors[:3]:
        if isinstance(error, dict):
            code, message = error.get("code", ""), error.get("message", "")
            parts.append(f"{code}: {message}" if message else str(code))
    return "; ".join(parts)


def _reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError) and "refused" in text.lower():
        return "connection refused"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return text.splitlines()[0]
