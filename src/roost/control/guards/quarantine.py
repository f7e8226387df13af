"""Guard: a quarantined artifact digest is not deployed (``roost artifacts quarantine``, or the
``quarantine`` action a trigger runs when a scan finds something). Only releases of an OCI
artifact have a digest; a release of a folder (``dir:``) has none to quarantine.
"""

from __future__ import annotations

from roost._util.refusals import Refusal
from roost.control.guards.context import DeployContext, Override

OCI_PREFIX = "oci:"


class NotQuarantined:
    name = "quarantine"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        artifact = ctx.release.artifact if ctx.release is not None else ""
        if not artifact.startswith(OCI_PREFIX):
            return None
        digest = artifact.removeprefix(OCI_PREFIX)
        held = ctx.ws.store.quarantines.get(digest)
        if held is None:
            return None
        return Refusal(
            self.name,
            f"{ctx.what} is quarantined: artifact {digest} ({held.reason}; "
            f"by {held.quarantined_by} at {held.quarantined_at:%Y-%m-%d %H:%M} UTC)",
            f"deploy another release, or lift it with `roost artifacts release {digest}`",
        )
