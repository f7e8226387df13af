"""Talking to the agent: a small synchronous HTTP client for the control plane and the CLI.

The agent writes ``agent.json`` (URL, pid) into the project's state directory when it listens;
:func:`find_agent` reads it. Every error becomes :class:`AgentUnavailable` or
:class:`AgentRefused` with a one-line message, never an httpx traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from roost._util.files import read_json_object

AGENT_FILE = "agent.json"


class AgentUnavailable(Exception):
    """No agent answers (not started, crashed, or its address is stale)."""

    hint = "start it with `roost up`"


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
    """Calls to one agent. Use as a context manager (it holds a connection pool)."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    @classmethod
    def for_project(cls, state_dir: Path, *, timeout: float = 30.0) -> AgentClient:
        url = find_agent(state_dir)
        if url is None:
            raise AgentUnavailable(f"no agent is running for this project ({state_dir})")
        return cls(url, timeout=timeout)

    def close(self) -> None:
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

    def healthy(self) -> bool:
        try:
            return bool(self._call("GET", "/healthz").get("status") == "ok")
        except (AgentUnavailable, AgentRefused):
            return False

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/v1/state")
        return result

    def ensure_listener(self, service: str, port: int = 0) -> int:
        return int(
            self._call("PUT", f"/v1/services/{service}/listener", json={"port": port})["port"]
        )

    def start_revision(self, spec_json: str, *, service: str, revision: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "PUT",
            f"/v1/services/{service}/revisions/{revision}",
            content=spec_json,
            headers={"content-type": "application/json"},
        )
        return result

    def scale(self, service: str, revision: str, replicas: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST",
            f"/v1/services/{service}/revisions/{revision}/scale",
            json={"replicas": replicas},
        )
        return result

    def stop_revision(self, service: str, revision: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "DELETE", f"/v1/services/{service}/revisions/{revision}"
        )
        return result

    def set_weights(
        self, service: str, weights: Mapping[str, int], *, fencing_token: int | None
    ) -> dict[str, int]:
        body = {"weights": dict(weights), "fencing_token": fencing_token}
        result = self._call("PUT", f"/v1/services/{service}/weights", json=body)
        return {str(k): int(v) for k, v in result["weights"].items()}

    def open_preview(self, service: str, revision: str, port: int = 0) -> str:
        """Serve ``revision`` alone on ``port``; returns the preview URL."""
        body = {"revision": revision, "port": port}
        return str(self._call("PUT", f"/v1/services/{service}/preview", json=body)["url"])

    def close_preview(self, service: str) -> bool:
        return bool(self._call("DELETE", f"/v1/services/{service}/preview")["closed"])

    def metrics(
        self, service: str, revision: str, *, window: float, samples: int = 0
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "GET",
            f"/v1/services/{service}/revisions/{revision}/metrics",
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
        """Per-class request counts of all of ``service``'s revisions (or ``revision``'s) over
        ``window`` seconds, and how many were faster than ``under`` seconds: the SLO engine's
        question."""
        params: dict[str, float | str] = {"window": window}
        if under is not None:
            params["under"] = under
        if revision is not None:
            params["revision"] = revision
        result: dict[str, Any] = self._call("GET", f"/v1/services/{service}/sli", params=params)
        return result

    def query_logs(self, sql: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/v1/logs/query", json={"sql": sql})
        return result

    def __repr__(self) -> str:
        return f"AgentClient({self.url!r})"
