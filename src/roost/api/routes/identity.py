"""Workload identity, published: OpenID Connect discovery and the JWKS, so services and outside
systems verify a replica's token without sharing a secret with roost. Both routes are public
(no credential): they hold public keys and URLs only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from roost.identity import DISCOVERY_PATH, JWKS_PATH, KeyStoreError, openid_configuration

router = APIRouter(tags=["identity"])

# Verifiers cache the key set (PyJWKClient, for one, fetches again for an unknown kid), so a
# minute of caching costs a rotation nothing: the new key is listed before it signs anything
# a verifier sees, and the old one stays listed until its tokens expire.
_CACHE = {"cache-control": "public, max-age=60"}


def _issuer(request: Request) -> str:
    issuer = getattr(request.app.state, "issuer", None)
    return issuer if isinstance(issuer, str) else str(request.base_url).rstrip("/")


@router.get(DISCOVERY_PATH)
def discovery(request: Request) -> JSONResponse:
    """OpenID Connect discovery: the issuer of workload tokens and where its keys are."""
    return JSONResponse(openid_configuration(_issuer(request)), headers=_CACHE)


@router.get(JWKS_PATH)
def jwks(request: Request) -> JSONResponse:
    """The public keys that verify workload tokens (the active one and retired ones whose
    tokens may not have expired yet)."""
    try:
        body: dict[str, Any] = request.app.state.identity_keys.jwks()
    except KeyStoreError as exc:
        return JSONResponse({"error": str(exc), "hint": exc.hint}, status_code=503)
    return JSONResponse(body, headers=_CACHE)
