"""What the control plane publishes so that anyone can verify a workload token: OpenID Connect
discovery (``/.well-known/openid-configuration``) and the key set it points to
(``/.well-known/jwks.json``). Both are public: they hold no secret."""

from __future__ import annotations

from typing import Any

from roost.identity.keys import ALGORITHM

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks.json"


def openid_configuration(issuer: str) -> dict[str, Any]:
    """The discovery document of ``issuer`` (OpenID Connect Discovery 1.0, the fields a
    verifier of ID-token-shaped JWTs reads; roost has no authorization endpoint)."""
    issuer = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}{JWKS_PATH}",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "roost"],
    }
