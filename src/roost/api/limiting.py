"""What every request body must be before a route sees it: at most ``max_body_bytes`` (413
otherwise), and JSON without a key given twice (``{"web-r1": 50, "web-r1": 50}`` would silently
keep the last value). Also the 422 answer for a body or path that does not validate: one
``{"error", "hint"}`` that can always be encoded, whatever the caller sent (an infinite number,
a lone surrogate) — FastAPI's default echoes the input and fails to encode those, a 500.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""1 MiB: a deploy with a few hundred environment variables is a few KiB."""

_WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}


def _safe(text: str) -> str:
    # A lone surrogate has no UTF-8 encoding: escape it rather than fail to answer.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(status: int, message: str, hint: str | None = None) -> JSONResponse:
    """roost's one error shape, ``{"error", "hint"}``, encodable whatever the message holds."""
    body = {"error": _safe(message)}
    if hint:
        body["hint"] = _safe(hint)
    return JSONResponse(body, status_code=status)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class BodyLimit:
    """ASGI middleware: read the whole body (bounded), refuse it or hand it on unchanged."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        too_large = error_response(
            413,
            f"the request body is larger than {limit} bytes",
            "send less: at most a few hundred environment variables or weights per request",
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await too_large(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body:
            try:
                json.loads(body, object_pairs_hook=_no_duplicates)
            except _DuplicateKey as exc:
                await error_response(
                    400,
                    f"the request body gives the key {exc.args[0]!r} twice",
                    "give each key once (each revision's weight once)",
                )(scope, receive, send)
                return
            except (ValueError, RecursionError):
                pass  # not JSON: the route's own validation answers with a 422
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _where(loc: Sequence[int | str]) -> str:
    # ("body", "env", "BAD NAME", "[key]") -> "env.BAD NAME": the field, then the bad key.
    parts = [str(p) for p in loc if p != "[key]"]
    if len(parts) > 1 and parts[0] in ("body", "path", "query"):
        parts = parts[1:]
    return ".".join(parts)


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """A 422 naming the first field that does not validate and why, never the input itself."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if not errors:
        return error_response(422, "the request does not validate")
    first = errors[0]
    message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
    where = _where(first.get("loc", ()))
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    hint = "see the request's schema at /docs"
    if "; " in message:
        message, hint = message.split("; ", 1)
    return error_response(422, f"{where}: {message}{more}" if where else message + more, hint)
