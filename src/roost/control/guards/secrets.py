"""Guard: an existing release's pinned secrets can still be read and have not changed (a new
release pins what it reads when it is cut, so it is checked right after the cut)."""

from __future__ import annotations

from roost._util.refusals import Refusal
from roost.control.guards.context import DeployContext, Override
from roost.control.releases.releasing import ReleaseError
from roost.control.releases.revisions import revision_spec


class PinnedSecrets:
    name = "secrets"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        if ctx.release is None:
            return None
        try:
            revision_spec(
                ctx.release, environment_name=ctx.environment, environment=ctx.env, root=ctx.ws.root
            )
        except ReleaseError as exc:
            return Refusal(self.name, str(exc), exc.hint or "")
        return None
