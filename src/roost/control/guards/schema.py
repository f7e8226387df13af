"""Guard: the release runs on the environment's schema version (its ``schema.requires``)."""

from __future__ import annotations

from roost._util.refusals import Refusal
from roost.control.guards.context import DeployContext, Override
from roost.spec.versions import version_in_range


class SchemaRange:
    name = "schema"

    def check(self, ctx: DeployContext) -> Refusal | Override | None:
        if ctx.release is not None:
            requires = ctx.release.schema_requires
        else:
            schema = ctx.service.db_schema
            requires = schema.requires if schema is not None else ""
        current = ctx.ws.store.environments.schema_version(ctx.environment)
        if current is None or not requires or version_in_range(current, requires):
            return None
        return Refusal(
            self.name,
            f"{ctx.what} requires schema {requires}, but {ctx.environment} is on schema {current}",
            f"release code that runs on schema {current} (migrate in a release that still "
            "runs on the schema before its migration)",
        )
