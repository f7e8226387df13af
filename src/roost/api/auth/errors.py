"""Refusals of the auth layer: 401 (who are you?) and 403 (not you, not here)."""

from __future__ import annotations

from roost._util.errors import HintedError


class AuthError(HintedError):
    status = 401


class Unauthenticated(AuthError):
    """No credential, or one that is unknown, revoked, expired or forged."""

    status = 401
    default_hint = (
        "send `Authorization: Bearer TOKEN`; the CLI finds the project owner's token in "
        ".roost/auth/ or uses $ROOST_TOKEN / --token (`roost token create` makes more)"
    )


class Forbidden(AuthError):
    """Authenticated, but the subject's roles do not grant this here."""

    status = 403
    default_hint = "an admin can grant a role: `roost role grant SUBJECT ROLE --env ENV`"


class BadCredentialRequest(AuthError):
    """A malformed auth-related request part (an impersonation name roost cannot record)."""

    status = 400
