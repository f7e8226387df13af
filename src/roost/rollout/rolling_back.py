"""Rolling back a finished release: restore all of it, and only when it can work.

A release is code + config snapshot + secret versions + the schema range it runs against, and a
rollback restores the first three *together* (rolling back code with today's config or secrets
is how rollbacks fail at 3 a.m.). The fourth is a precondition: databases are not rolled back,
so old code must be able to run on the schema the environment has now. When it cannot, the
rollback is refused with the migration that blocks it and a way forward; ``force`` overrides
the refusal, and the plan says so for the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from roost.spec.versions import version_in_range

if TYPE_CHECKING:
    # Only a type here; importing roost.store at run time would pull in SQLAlchemy for nothing.
    from roost.store.records import ReleaseRecord


@dataclass(frozen=True, slots=True)
class Migration:
    """A release that migrated the schema to ``version``."""

    release: str
    version: int

    def to_dict(self) -> dict[str, Any]:
        """``{"release": ..., "version": n}``."""
        return {"release": self.release, "version": self.version}


@dataclass(frozen=True, slots=True)
class RollbackPlan:
    """Roll ``service`` back from release ``current`` to release ``target``.

    The executor deploys ``artifact`` with ``config`` and ``secrets`` exactly as recorded in the
    target release — all three together — through :func:`~roost.rollout.start_rollout` with
    ``fast=fast`` (canary steps and analysis by default, straight to 100% when fast).
    ``audited_override`` is set when ``force`` overrode a refusal; ``override_reason`` is what was
    overridden and by whom, for the audit log. ``notes`` are things people should know.
    """

    service: str
    target: str
    current: str
    artifact: str
    config: dict[str, Any]
    secrets: dict[str, Any]
    schema_requires: str
    schema_version: int | None
    fast: bool = False
    audited_override: bool = False
    override_reason: str | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for the timeline, the API and the audit event."""
        return {
            "service": self.service,
            "target": self.target,
            "current": self.current,
            "artifact": self.artifact,
            "config": dict(self.config),
            "secrets": dict(self.secrets),
            "schema_requires": self.schema_requires,
            "schema_version": self.schema_version,
            "fast": self.fast,
            "audited_override": self.audited_override,
            "override_reason": self.override_reason,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class RollbackRefused:
    """Why a rollback will not run, and what to do instead.

    ``blocking`` lists the releases since the target that migrated the schema outside its
    range, oldest first; ``compatible`` is the newest release since the target that does run on
    the current schema (a safe rollback target), if any. ``forceable``: ``force`` would override
    (schema refusals are; rolling back to the running release is not).
    """

    service: str
    target: str
    reason: str
    hint: str
    schema_version: int | None = None
    blocking: tuple[Migration, ...] = ()
    compatible: str | None = None
    forceable: bool = True

    def __str__(self) -> str:
        return f"{self.reason} (hint: {self.hint})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for the API and the timeline."""
        return {
            "service": self.service,
            "target": self.target,
            "reason": self.reason,
            "hint": self.hint,
            "schema_version": self.schema_version,
            "blocking": [migration.to_dict() for migration in self.blocking],
            "compatible": self.compatible,
            "forceable": self.forceable,
        }


def plan_rollback(
    target: ReleaseRecord,
    *,
    current: ReleaseRecord,
    between: Sequence[ReleaseRecord] = (),
    schema_version: int | None,
    fast: bool = False,
    force: bool = False,
    requested_by: str,
) -> RollbackPlan | RollbackRefused:
    """Plan rolling the environment back from ``current`` to ``target``.

    ``between``: the releases that ran in the environment after ``target`` and before
    ``current`` (any order; others are ignored), searched with ``current`` for the migration
    that blocks. ``schema_version``: the environment's schema version now (``None``: not
    tracked, nothing to check). ``force`` turns a schema refusal into a plan flagged
    ``audited_override``.
    """
    if target.service != current.service:
        raise ValueError(f"release {target.id} is of {target.service}, not {current.service}")
    if target.id == current.id:
        return RollbackRefused(
            service=target.service,
            target=target.id,
            reason=f"{target.id} is the release running now; there is nothing to roll back",
            hint=f"`roost release list {target.service}` shows earlier releases",
            forceable=False,
        )
    notes: list[str] = []
    override: str | None = None
    if schema_version is None:
        notes.append(
            "the environment's schema version is not tracked, so compatibility with "
            f"{target.schema_requires!r} was not checked"
        )
    else:
        refused = _schema_refusal(target, current, between, schema_version)
        if refused is not None:
            if not force:
                return refused
            override = f"{refused.reason} — forced by {requested_by}"
            notes.append(
                f"forced: {target.id} may fail on schema {schema_version}; the override is audited"
            )
    return RollbackPlan(
        service=target.service,
        target=target.id,
        current=current.id,
        artifact=target.artifact,
        config=dict(target.config),
        secrets=dict(target.secrets),
        schema_requires=target.schema_requires,
        schema_version=schema_version,
        fast=fast,
        audited_override=override is not None,
        override_reason=override,
        notes=tuple(notes),
    )


def _schema_refusal(
    target: ReleaseRecord,
    current: ReleaseRecord,
    between: Sequence[ReleaseRecord],
    schema_version: int,
) -> RollbackRefused | None:
    try:
        if version_in_range(schema_version, target.schema_requires):
            return None
    except ValueError as err:
        return RollbackRefused(
            service=target.service,
            target=target.id,
            reason=f"{target.id} has an unreadable schema range {target.schema_requires!r}: {err}",
            hint="roll forward with a new release instead",
            schema_version=schema_version,
        )
    since = sorted(
        {r.id: r for r in (*between, current) if r.seq > target.seq}.values(),
        key=lambda r: r.seq,
    )
    blocking = tuple(
        Migration(r.id, r.schema_migrates_to)
        for r in since
        if r.schema_migrates_to is not None
        and not version_in_range(r.schema_migrates_to, target.schema_requires)
    )
    compatible = next(
        (r.id for r in reversed(since) if r.id != current.id and _runs_on(r, schema_version)),
        None,
    )
    needs = f"{target.id} requires schema {target.schema_requires}"
    if blocking:
        first, *later = blocking
        because = f"{first.release} migrated the schema to {first.version}"
        if later:
            because += " (then " + ", ".join(f"{m.release} to {m.version}" for m in later) + ")"
    else:
        because = "no release since it migrated the schema (was it changed outside roost?)"
    reason = (
        f"refusing to roll {target.service} back to {target.id}: {needs}, but the environment "
        f"is on schema {schema_version} — {because}"
    )
    hint = (
        f"roll forward instead: release a fix on top of {current.id} that runs on schema "
        f"{schema_version}"
    )
    if compatible is not None:
        hint += f", or roll back to {compatible}, which runs on schema {schema_version}"
    hint += "; --force rolls back anyway (audited)"
    return RollbackRefused(
        service=target.service,
        target=target.id,
        reason=reason,
        hint=hint,
        schema_version=schema_version,
        blocking=blocking,
        compatible=compatible,
    )


def _runs_on(release: ReleaseRecord, version: int) -> bool:
    try:
        return version_in_range(version, release.schema_requires)
    except ValueError:
        return False
