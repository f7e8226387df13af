"""Guard: an existing release's pinned secret versions can still be opened (a new release pins
what it reads when it is cut, so it is checked right after the cut)."""

from __future__ import annotations

from roost._util.refusals import Refusal
from roost.control.guards.context import DeployContext, Override
from roost.control.releases.errors import ReleaseError
from roost.control.releases.revisions import revision_spec
from roost.control.releases.vault import vault_of
from roost.secrets import SecretKeyError


class PinnedSecrets:
    name = "secrets"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        if ctx.release is None:
            return None
        try:
            revision_spec(
                ctx.release,
                environment_name=ctx.environment,
                environment=ctx.env,
                root=ctx.ws.root,
                vault=vault_of(ctx.ws),
            )
        except (ReleaseError, SecretKeyError) as exc:
            return Refusal(self.name, str(exc), exc.hint or "")
        return None
