"""Roles, the permissions they hold, and where a binding applies: plain data, no I/O.

A role binding gives a subject (a token's name, an OIDC subject, or ``group:NAME``) one role on
the environments and services its patterns match (``fnmatch`` style, ``*`` for all). What a
route needs is one permission; a subject has it when any of its bindings grants it *there*:

* a route about one environment (a deploy, a rollout, a service's revisions) checks that
  environment (and service, when the route names one);
* a route about the whole project (``apply``, tokens, roles, ``up``) needs a binding for every
  environment and service (both patterns ``*``);
* reading needs ``read`` on some environment: the project-wide views (status, releases, events)
  are what a viewer of any environment needs to do their job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase


class Permission(StrEnum):
    READ = "read"
    """Every GET: status, releases, rollouts, events, SLOs, log queries."""
    DEPLOY = "deploy"
    """Deploy, promote, pause, resume, abort, rollback (without --force)."""
    APPROVE = "approve"
    """Approve someone else's deploy (four eyes)."""
    OVERRIDE = "override"
    """--force, --override-scan, --override-budget: skip a guardrail (audited)."""
    OPERATE = "operate"
    """Drive the data plane by hand (up, start/stop revisions, weights): around the guardrails."""
    APPLY = "apply"
    """Apply roost.yaml: it changes the guardrails themselves."""
    ADMIN = "admin"
    """Tokens, role bindings, impersonation (--as)."""


class Role(StrEnum):
    VIEWER = "viewer"
    DEPLOYER = "deployer"
    APPROVER = "approver"
    ADMIN = "admin"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.DEPLOYER: frozenset({Permission.READ, Permission.DEPLOY}),
    Role.APPROVER: frozenset({Permission.READ, Permission.APPROVE}),
    Role.ADMIN: frozenset(Permission),
}

ALL = "*"
MAX_PATTERN = 100


def pattern_problem(pattern: str, what: str) -> str | None:
    """Why ``pattern`` cannot be an environment or service pattern (None: it can)."""
    if not pattern or len(pattern) > MAX_PATTERN:
        return f"{what} pattern must be 1-{MAX_PATTERN} characters"
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-_*?[]!")
    bad = sorted({c for c in pattern if c not in allowed})
    if bad:
        return f"{what} pattern {pattern!r} has characters a name never has: {''.join(bad)}"
    return None


@dataclass(frozen=True, slots=True)
class Grant:
    """One binding as the authorizer uses it."""

    role: Role
    environment: str = ALL
    service: str = ALL

    def allows(self, permission: Permission, environment: str | None, service: str | None) -> bool:
        if permission not in ROLE_PERMISSIONS[self.role]:
            return False
        if environment is None:
            # Project-wide: reading needs some environment; anything else needs them all.
            return permission is Permission.READ or (
                self.environment == ALL and self.service == ALL
            )
        if not fnmatchcase(environment, self.environment):
            return False
        if service is None:
            return permission is Permission.READ or self.service == ALL
        return fnmatchcase(service, self.service)


def allowed(
    grants: Iterable[Grant],
    permission: Permission,
    *,
    environment: str | None = None,
    service: str | None = None,
) -> bool:
    """Whether any of ``grants`` gives ``permission`` on ``environment``/``service``
    (``None``: the route is about the whole project)."""
    return any(g.allows(permission, environment, service) for g in grants)
