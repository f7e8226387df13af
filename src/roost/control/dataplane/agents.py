"""Talking to the agent: a small synchronous HTTP client for the control plane and the CLI.

The agent writes ``agent.json`` (URL, pid) into the project's state directory when it listens;
:func:`find_agent` reads it. Every error becomes :class:`AgentUnavailable` or
:class:`AgentRefused` with a one-line message, never an httpx traceback.

The agent obeys only its control plane: every call carries the credential derived from the
agent's key (``agent.key``, 0600, readable by the project's owner only), and every fencing
token is signed for the one weight change it goes with (see :mod:`roost._util.agentkeys`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from roost._util.agentkeys import FENCE_TTL, AgentKeyError, AgentKeys
from roost._util.files import read_json_object
from roost.clock import Clock, RealClock
from roost.control.dataplane.protocol import RevisionMetrics

AGENT_FILE = "agent.json"


class AgentUnavailable(Exception):
    """No agent answers (not started, crashed, or its address is stale), or its credential
    cannot be read."""

    hint = "start it with `roost up`"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class AgentRefused(Exception):
    """The agent answered with an error (bad request, conflict, stale fencing token, ...)."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.hint = hint


def find_agent(state_dir: Path) -> str | None:
    """The URL of the agent serving this project, from ``agent.json``; None if not recorded."""
    data = read_json_object(state_dir / AGENT_FILE)
    url = data.get("url") if data else None
    return url if isinstance(url, str) else None


class AgentClient:
    """Calls to one agent. Use as a context manager (it holds a connection pool).

    Environments are boundaries: every call about a service goes to one environment's part of
    the agent — the client's ``environment``; :meth:`in_environment` gives a client for
    another one (sharing this one's connections). ``state()`` of a client without an
    environment is the whole agent (every environment).
    """

    def __init__(
        self,
        url: str,
        *,
        keys: AgentKeys,
        timeout: float = 30.0,
        environment: str | None = None,
        clock: Clock | None = None,
        _http: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.environment = environment
        self.keys = keys
        self.clock: Clock = clock if clock is not None else RealClock()
        self._owns = _http is None
        self._http = _http or httpx.Client(
            base_url=self.url,
            timeout=timeout,
            headers={"authorization": keys.authorization()},
            # The agent is on this machine: no proxy from the environment may see the credential.
            trust_env=False,
        )

    @classmethod
    def for_project(cls, state_dir: Path, *, timeout: float = 30.0) -> AgentClient:
        """A client for the agent serving the project whose agent state is ``state_dir``,
        with its credential; :class:`AgentUnavailable` when none runs or the credential cannot
        be read (another user's project)."""
        url = find_agent(state_dir)
        if url is None:
            raise AgentUnavailable(f"no agent is running for this project ({state_dir})")
        try:
            keys = AgentKeys.load(state_dir)
        except AgentKeyError as exc:
            raise AgentUnavailable(
                f"the agent's credential: {exc}",
                hint="the agent obeys only its control plane: run roost as the user who "
                "started it (`roost up`)",
            ) from None
        return cls(url, keys=keys, timeout=timeout)

    def in_environment(self, environment: str) -> AgentClient:
        """A client for ``environment``'s services; closing it leaves the connections open."""
        return AgentClient(
            self.url, keys=self.keys, environment=environment, clock=self.clock, _http=self._http
        )

    def close(self) -> None:
        if self._owns:
            self._http.close()

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise AgentUnavailable(
                f"the agent at {self.url} does not answer ({type(exc).__name__})"
            ) from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            message = body.get("error") or body.get("detail") or response.text[:200]
            if not isinstance(message, str):
                message = json.dumps(message)[:300]
            raise AgentRefused(message, status=response.status_code, hint=body.get("hint"))
        return response.json()

    def _service(self, service: str, rest: str = "") -> str:
        """The URL path of ``service`` in this client's environment (names escaped)."""
        if self.environment is None:
            raise TypeError("an agent call about a service needs an environment (in_environment)")
        env, name = quote(self.environment, safe=""), quote(service, safe="")
        return f"/v1/environments/{env}/services/{name}{rest}"

    def _revision(self, service: str, revision: str, rest: str = "") -> str:
        return self._service(service, f"/revisions/{quote(revision, safe='')}{rest}")

    def healthy(self) -> bool:
        try:
            return bool(self._call("GET", "/healthz").get("status") == "ok")
        except (AgentUnavailable, AgentRefused):
            return False

    def state(self) -> dict[str, Any]:
        """This client's environment (``{"environment", "services"}``), or the whole agent
        (``{"default_environment", "environments": {name: {"services": ...}}}``)."""
        if self.environment is None:
            result: dict[str, Any] = self._call("GET", "/v1/state")
        else:
            env = quote(self.environment, safe="")
            result = self._call("GET", f"/v1/environments/{env}/state")
        return result

    def ensure_listener(self, service: str, port: int = 0) -> int:
        return int(
            self._call("PUT", self._service(service, "/listener"), json={"port": port})["port"]
        )

    def start_revision(self, spec_json: str, *, service: str, revision: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "PUT",
            self._revision(service, revision),
            content=spec_json,
            headers={"content-type": "application/json"},
        )
        return result

    def scale(self, service: str, revision: str, replicas: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", self._revision(service, revision, "/scale"), json={"replicas": replicas}
        )
        return result

    def stop_revision(self, service: str, revision: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("DELETE", self._revision(service, revision))
        return result

    def put_identity(self, service: str, revision: str, token: str) -> dict[str, Any]:
        """Hand a running revision its workload token (a credential: sent, never logged)."""
        result: dict[str, Any] = self._call(
            "PUT", self._revision(service, revision, "/identity"), json={"token": token}
        )
        return result

    def set_weights(
        self, service: str, weights: Mapping[str, int], *, fencing_token: int | None
    ) -> dict[str, int]:
        path = self._service(service, "/weights")
        body: dict[str, Any] = {"weights": dict(weights), "fencing_token": fencing_token}
        if fencing_token is not None:
            # Signed for this one change and a minute: the agent refuses an unsigned token.
            expires = int(self.clock.now().timestamp()) + FENCE_TTL
            signature = self.keys.sign_fence(
                environment=str(self.environment),
                service=service,
                token=fencing_token,
                expires=expires,
            )
            body["fence"] = {"expires": expires, "signature": signature}
        result = self._call("PUT", path, json=body)
        return {str(k): int(v) for k, v in result["weights"].items()}

    def open_preview(self, service: str, revision: str, port: int = 0) -> str:
        """Serve ``revision`` alone on ``port``; returns the preview URL."""
        body = {"revision": revision, "port": port}
        return str(self._call("PUT", self._service(service, "/preview"), json=body)["url"])

    def close_preview(self, service: str) -> bool:
        return bool(self._call("DELETE", self._service(service, "/preview"))["closed"])

    def metrics(
        self, service: str, revision: str, *, window: float, samples: int = 0
    ) -> RevisionMetrics:
        result: RevisionMetrics = self._call(
            "GET",
            self._revision(service, revision, "/metrics"),
            params={"window": window, "samples": samples},
        )
        return result

    def sli_counts(
        self,
        service: str,
        *,
        window: float,
        under: float | None = None,
        revision: str | None = None,
    ) -> dict[str, Any]:
        """Per-class request counts of all of ``service``'s revisions (or ``revision``'s) in
        this client's environment over ``window`` seconds, and how many were faster than
        ``under`` seconds: the SLO engine's question."""
        params: dict[str, float | str] = {"window": window}
        if under is not None:
            params["under"] = under
        if revision is not None:
            params["revision"] = revision
        result: dict[str, Any] = self._call("GET", self._service(service, "/sli"), params=params)
        return result

    def query_logs(self, sql: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/v1/logs/query", json={"sql": sql})
        return result

    def __repr__(self) -> str:
        scope = "" if self.environment is None else f", environment={self.environment!r}"
        return f"AgentClient({self.url!r}{scope})"
