"""Authentication and authorization of the roost API.

Every ``/api/v1`` route declares ``Depends(require(Permission.X))``
(:mod:`roost.api.auth.requiring`); a caller proves who they are with a roost API token
(:mod:`roost.api.auth.tokens`, stored only as a hash) or an OIDC JWT from the issuer roost.yaml
names (:mod:`roost.api.auth.oidc`), and their role bindings per environment
(:mod:`roost.api.auth.permissions`) decide what they may do.
"""

from roost.api.auth.authenticating import CACHE_SECONDS, Authenticator, BearerVerifier, Verified
from roost.api.auth.errors import AuthError, BadCredentialRequest, Forbidden, Unauthenticated
from roost.api.auth.owner import ensure_owner_token, owner_name
from roost.api.auth.permissions import ROLE_PERMISSIONS, Grant, Permission, Role
from roost.api.auth.principals import Principal
from roost.api.auth.requiring import IMPERSONATE_HEADER, Requirement, require
from roost.api.auth.tokens import new_token, parse_lifetime, token_hash

__all__ = [
    "CACHE_SECONDS",
    "IMPERSONATE_HEADER",
    "ROLE_PERMISSIONS",
    "AuthError",
    "Authenticator",
    "BadCredentialRequest",
    "BearerVerifier",
    "Forbidden",
    "Grant",
    "Permission",
    "Principal",
    "Requirement",
    "Role",
    "Unauthenticated",
    "Verified",
    "ensure_owner_token",
    "new_token",
    "owner_name",
    "parse_lifetime",
    "require",
    "token_hash",
]
