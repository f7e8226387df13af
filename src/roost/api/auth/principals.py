"""Who a request comes from, as its credential proved, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass, replace

from roost.api.auth.permissions import Grant, Permission, allowed


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``subject`` is who the credential proves (a token's name, an OIDC subject); ``acting_as``
    is set when an admin impersonates someone (``--as``), and then ``actor`` — the name the
    audit log and four eyes see — says both.
    """

    subject: str
    via: str
    """``token`` or ``oidc``."""
    grants: tuple[Grant, ...]
    groups: tuple[str, ...] = ()
    acting_as: str | None = None

    @property
    def actor(self) -> str:
        if self.acting_as is None:
            return self.subject
        return f"{self.acting_as} (impersonated by {self.subject})"

    def may(
        self,
        permission: Permission,
        *,
        environment: str | None = None,
        service: str | None = None,
    ) -> bool:
        return allowed(self.grants, permission, environment=environment, service=service)

    def impersonating(self, name: str) -> Principal:
        return replace(self, acting_as=name)

    def __repr__(self) -> str:
        return f"Principal({self.actor!r}, via={self.via!r}, grants={len(self.grants)})"
