"""Which permission each route needs, read from the app's OpenAPI document: every protected
operation lists the roost security scheme with its permission as the scope (and
``per-environment`` when it is checked on the environment the request names). The list in the
docs and the route-permission test read the same document, so neither can drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from roost.api.auth.requiring import PER_ENVIRONMENT

PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
    }
)
"""Answered without a credential: liveness, readiness, and what a verifier of roost-issued
tokens needs (OIDC discovery and the public keys)."""

SCHEME = "roost"


@dataclass(frozen=True, slots=True)
class RoutePermission:
    method: str
    path: str
    permission: str | None
    """None: public (no credential)."""
    scoped: bool


def route_permissions(openapi: dict[str, Any]) -> list[RoutePermission]:
    """Every operation of an OpenAPI document with what it needs, sorted by path."""
    found = []
    for path, operations in openapi.get("paths", {}).items():
        for method, operation in operations.items():
            scopes: list[str] | None = None
            for requirement in operation.get("security", []):
                if SCHEME in requirement:
                    scopes = list(requirement[SCHEME])
            found.append(
                RoutePermission(
                    method.upper(),
                    path,
                    scopes[0] if scopes else None,
                    scopes is not None and PER_ENVIRONMENT in scopes,
                )
            )
    return sorted(found, key=lambda r: (r.path, r.method))


def markdown_table(openapi: dict[str, Any]) -> str:
    """The routes and their permissions as a Markdown table."""
    lines = ["| method | path | permission |", "|---|---|---|"]
    for r in route_permissions(openapi):
        need = "public" if r.permission is None else f"`{r.permission}`"
        if r.scoped:
            need += " on the environment"
        lines.append(f"| {r.method} | `{r.path}` | {need} |")
    return "\n".join(lines)
