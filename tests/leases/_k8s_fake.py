"""An in-process fake of the Kubernetes ``coordination.k8s.io/v1`` Lease endpoints.

No cluster can run on these machines, so the Kubernetes lease backend is tested against this
HTTP server, which the official client talks to exactly as it would to an API server. It
implements the documented semantics that the backend relies on (as of Kubernetes 1.30):

* create (POST): 409 ``AlreadyExists`` if the name is taken; the server sets ``uid``,
  ``creationTimestamp`` and ``resourceVersion``; names must be DNS subdomains (422 ``Invalid``).
* update (PUT): ``metadata.resourceVersion`` is required (Leases disallow unconditional
  update: 422) and must equal the stored one, else 409 ``Conflict`` ("the object has been
  modified"); Leases allow create-on-update, so a PUT to a missing name creates it unless the
  body carries a ``uid`` (a UID precondition, which fails with 409).
* delete: 404 ``NotFound`` if missing.
* read, list (with equality ``labelSelector``).
* ``acquireTime``/``renewTime`` are MicroTime: RFC 3339 with exactly six fraction digits, as
  the API server parses them (anything else is 400 ``BadRequest``).

Every object written is validated with ``kubernetes_validate.validate(obj, "1.30",
strict=True)`` (a failure is a 422 and is also recorded in ``invalid`` so tests can assert none
happened). ``fail_next(status)`` makes the next request fail, for error-path tests.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import kubernetes_validate

SCHEMA_VERSION = "1.30"
_PATH = re.compile(
    r"^/apis/coordination\.k8s\.io/v1/namespaces/(?P<ns>[^/]+)/leases(?:/(?P<name>[^/]+))?$"
)
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_MICRO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)")
_CONFLICT = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


class FakeLeaseApi:
    """The fake API server; ``url`` is its base URL. Use as a context manager."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.invalid: list[str] = []
        self.requests = 0
        self._revision = 0
        self._fail_next: int | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeLeaseApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeLeaseApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, status: int) -> None:
        """Answer the next request with ``status`` (e.g. 500, 403) instead of serving it."""
        self._fail_next = status

    def stored(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.objects.get((namespace, name))
            return None if found is None else copy.deepcopy(found)

    # -- the API ---------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
            if self._fail_next is not None:
                code, self._fail_next = self._fail_next, None
                return code, _status(code, "InternalError", "injected failure")
            match = _PATH.match(path)
            if match is None:
                return 404, _status(404, "NotFound", f"the server could not find {path}")
            namespace, name = match["ns"], match["name"]
            if name is None:
                if method == "GET":
                    return self._list(namespace, query.get("labelSelector", [""])[0])
                if method == "POST":
                    return self._create(namespace, body)
            elif method == "GET":
                return self._read(namespace, name)
            elif method == "PUT":
                return self._update(namespace, name, body)
            elif method == "DELETE":
                return self._delete(namespace, name)
            return 405, _status(405, "MethodNotAllowed", f"{method} is not supported")

    def _list(self, namespace: str, selector: str) -> tuple[int, dict[str, Any]]:
        wanted = dict(term.split("=", 1) for term in selector.split(",") if term)
        items = [
            copy.deepcopy(obj)
            for (ns, _), obj in sorted(self.objects.items())
            if ns == namespace
            and all(obj["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]
        return 200, {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "LeaseList",
            "metadata": {"resourceVersion": str(self._revision)},
            "items": items,
        }

    def _read(self, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        found = self.objects.get((namespace, name))
        if found is None:
            return 404, _not_found(name)
        return 200, copy.deepcopy(found)

    def _create(self, namespace: str, body: Any) -> tuple[int, dict[str, Any]]:
        problem = self._check(namespace, body)
        if problem is not None:
            return problem
        name = body["metadata"]["name"]
        if body["metadata"].get("resourceVersion"):
            return 400, _status(
                400, "BadRequest", "resourceVersion should not be set on objects to be created"
            )
        if (namespace, name) in self.objects:
            return 409, _status(
                409, "AlreadyExists", f'leases.coordination.k8s.io "{name}" already exists', name
            )
        return 201, self._store(namespace, body, uid=str(uuid.uuid4()))

    def _update(self, namespace: str, name: str, body: Any) -> tuple[int, dict[str, Any]]:
        problem = self._check(namespace, body)
        if problem is not None:
            return problem
        if body["metadata"]["name"] != name:
            return 400, _status(400, "BadRequest", "the name of the object does not match")
        existing = self.objects.get((namespace, name))
        uid = body["metadata"].get("uid")
        if existing is None:
            if uid:  # a UID precondition cannot hold for an object that does not exist
                return 409, _status(
                    409,
                    "Conflict",
                    f"Precondition failed: UID in precondition: {uid}, UID in object meta: ",
                    name,
                )
            return 201, self._store(namespace, body, uid=str(uuid.uuid4()))  # create on update
        if uid and uid != existing["metadata"]["uid"]:
            return 409, _status(409, "Conflict", "Precondition failed: UID mismatch", name)
        version = body["metadata"].get("resourceVersion")
        if not version:
            return 422, _status(
                422, "Invalid", "metadata.resourceVersion: must be specified for an update", name
            )
        if version != existing["metadata"]["resourceVersion"]:
            return 409, _status(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on leases.coordination.k8s.io "{name}": '
                f"{_CONFLICT}",
                name,
            )
        stored = self._store(
            namespace,
            body,
            uid=existing["metadata"]["uid"],
            created=existing["metadata"]["creationTimestamp"],
        )
        return 200, stored

    def _delete(self, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        found = self.objects.pop((namespace, name), None)
        if found is None:
            return 404, _not_found(name)
        status = _status(200, "", "")
        status.update(
            status="Success",
            details={
                "name": name,
                "group": "coordination.k8s.io",
                "kind": "leases",
                "uid": found["metadata"]["uid"],
            },
        )
        return 200, status

    def _check(self, namespace: str, body: Any) -> tuple[int, dict[str, Any]] | None:
        if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
            return 400, _status(400, "BadRequest", "the body is not a Lease")
        name = body["metadata"].get("name", "")
        if body["metadata"].get("namespace", namespace) != namespace:
            return 400, _status(400, "BadRequest", "the namespace of the object does not match")
        for field in ("acquireTime", "renewTime"):
            value = (body.get("spec") or {}).get(field)
            if value is not None and not _MICRO_TIME.fullmatch(str(value)):
                return 400, _status(
                    400,
                    "BadRequest",
                    f'Lease in version "v1" cannot be handled as a Lease: parsing time '
                    f'"{value}" as "2006-01-02T15:04:05.000000Z07:00"',
                )
        if not isinstance(name, str) or len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
            return 422, _status(422, "Invalid", f"metadata.name: Invalid value: {name!r}", name)
        candidate = copy.deepcopy(body)
        candidate["metadata"].update(
            namespace=namespace,
            uid=str(uuid.uuid4()),
            resourceVersion="1",
            creationTimestamp="2026-01-01T00:00:00Z",
        )
        try:
            kubernetes_validate.validate(candidate, SCHEMA_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            self.invalid.append(str(exc).splitlines()[0])
            return 422, _status(422, "Invalid", str(exc).splitlines()[0], name)
        return None

    def _store(
        self, namespace: str, body: dict[str, Any], *, uid: str, created: str | None = None
    ) -> dict[str, Any]:
        self._revision += 1
        obj = copy.deepcopy(body)
        obj["metadata"].update(
            namespace=namespace,
            uid=uid,
            resourceVersion=str(self._revision),
            creationTimestamp=created
            or datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        self.objects[(namespace, obj["metadata"]["name"])] = obj
        return copy.deepcopy(obj)


def _status(code: int, reason: str, message: str, name: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if name is not None:
        status["details"] = {"name": name, "group": "coordination.k8s.io", "kind": "leases"}
    return status


def _not_found(name: str) -> dict[str, Any]:
    return _status(404, "NotFound", f'leases.coordination.k8s.io "{name}" not found', name)


def _handler(api: FakeLeaseApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Head and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every request.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                code, answer = 400, _status(400, "BadRequest", "the body is not JSON")
            else:
                code, answer = api.handle(self.command, parts.path, parse_qs(parts.query), body)
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
