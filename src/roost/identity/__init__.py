"""Workload identity: the control plane signs a short-lived JWT for each running revision
(subject ``project/environment/service/revision``) and publishes its public keys, so services
and outside systems verify who calls them without a shared secret.

* :mod:`~roost.identity.keys` — the signing keys on disk, their rotation and the JWKS.
* :mod:`~roost.identity.tokens` — issuing tokens and deciding when one is due again (pure).
* :mod:`~roost.identity.discovery` — the OpenID Connect discovery document.
"""

from roost.identity.discovery import DISCOVERY_PATH, JWKS_PATH, openid_configuration
from roost.identity.keys import ALGORITHM, KeyStore, KeyStoreError, PublicKey, SigningKey
from roost.identity.tokens import (
    TOKEN_ENV,
    TOKEN_LIFETIME,
    IssuedToken,
    Workload,
    default_audience,
    due,
    issue,
)

IDENTITY_DIR = "identity"
"""The folder under a project's state directory that holds the signing keys."""

__all__ = [
    "ALGORITHM",
    "DISCOVERY_PATH",
    "IDENTITY_DIR",
    "JWKS_PATH",
    "TOKEN_ENV",
    "TOKEN_LIFETIME",
    "IssuedToken",
    "KeyStore",
    "KeyStoreError",
    "PublicKey",
    "SigningKey",
    "Workload",
    "default_audience",
    "due",
    "issue",
    "openid_configuration",
]
