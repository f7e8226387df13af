"""Calling a running ``roost serve`` from the CLI: find it, call it, turn failures into one line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from roost._util.processes import pid_alive
from roost.cli._options import project_root
from roost.cli._output import fail
from roost.control.paths import API_FILE, STATE_DIR, read_api_file


def recorded_api(project: Path | None) -> str | None:
    """The URL of this project's running ``roost serve``, as it recorded it in
    ``.roost/api.json`` when it started listening (``roost up`` starts it); ``None`` when none
    is recorded or the recorded process has exited. Outside a project: exit 2."""
    recorded = read_api_file(project_root(project) / STATE_DIR)
    url = recorded.get("url") if recorded else None
    pid = recorded.get("pid") if recorded else None
    if not isinstance(url, str) or (isinstance(pid, int) and not pid_alive(pid)):
        return None
    return url.rstrip("/")


def api_url(api: str | None, project: Path | None) -> str:
    """--api, then ROOST_API_URL, then the project's running API (.roost/api.json). There is no
    default address: one on a fixed port may be another project's control plane."""
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
        response = httpx.request(method, url, json=json, params=params, timeout=timeout)
    except httpx.InvalidURL as exc:
        fail(f"bad API URL {url!r}: {exc}", hint="e.g. --api http://127.0.0.1:7070", code=2)
    except httpx.UnsupportedProtocol:
        fail(f"bad API URL {url!r}", hint="it must start with http:// or https://", code=2)
    except httpx.TransportError as exc:
        base = url.split("/api/", maxsplit=1)[0]
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
        fail(message, hint=hint if isinstance(hint, str) else None)
    return data
