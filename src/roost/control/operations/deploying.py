"""Deploy operations: deploy, approve, promote / pause / resume / abort — the guardrails in
front of the rollout executor.

A deploy reads its :class:`~roost.control.guards.DeployContext` once and asks the guards of
:data:`~roost.control.guards.DEPLOY_GUARDS` in order; every one runs before anything is
written or started, so a refused deploy leaves no partial state behind (no release cut, no
record, no revision, no override audit event). Overrides are audited once every guard passed
and the release is ready. Rollbacks are in :mod:`roost.control.operations.rolling_back`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from roost._util.refusals import Refusal
from roost.control.errors import OperationError
from roost.control.guards import (
    DEPLOY_GUARDS,
    DeployContext,
    Guard,
    Override,
    audit,
    check_all,
    refusal_status,
)
from roost.control.operations.plane import ControlPlane
from roost.control.releases.releasing import cut_release
from roost.control.releases.revisions import revision_spec, service_of
from roost.control.releases.vault import vault_of
from roost.control.rollouts.executor import RolloutExecutor
from roost.control.rollouts.observing import current_revision
from roost.control.rollouts.requests import (
    AWAITING_APPROVAL,
    CANCELLED,
    DeployRequest,
    load_request,
    record_data,
)
from roost.control.rollouts.viewing import rollout_view
from roost.rollout import (
    ApprovalGrant,
    CommandKind,
    HumanCommand,
    check_approval,
    check_approver,
    choose_strategy,
)
from roost.spec import Environment, Service, SpecError, load_project
from roost.store import NotFound, ReleaseRecord, RolloutRecord


def refuse(refusal: Refusal) -> OperationError:
    """A guard's refusal as the error the API and CLI show."""
    return OperationError(
        refusal.message, status=refusal_status(refusal.guard), hint=refusal.hint or None
    )


class Deployments:
    """The operations behind ``/api/v1/rollouts`` and ``roost deploy|approve|rollout``."""

    def __init__(self, plane: ControlPlane, executor: RolloutExecutor) -> None:
        self.plane = plane
        self.executor = executor
        self.ws = plane.ws

    # -- shared ---------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read roost.yaml again: a deploy releases what the file says now."""
        try:
            self.ws.project = load_project(self.ws.project_file)
        except SpecError as exc:
            first = exc.problems[0].format() if exc.problems else str(exc)
            raise OperationError(
                f"roost.yaml is invalid: {first}", hint="`roost validate` lists every problem"
            ) from None

    def target(self, service: str, environment: str | None) -> tuple[Service, str, Environment]:
        """The service and environment an operation names (404 for unknown ones)."""
        spec = self.plane.service(service)
        env_name, env = self.plane.environment(environment)
        if not spec.runs_in(env_name):
            raise OperationError(
                f"{spec.name} is not deployed to {env_name}",
                hint=f"its environments: {', '.join(spec.environments or [])}",
            )
        return spec, env_name, env

    def release_of(self, service: str, release_id: str) -> ReleaseRecord:
        try:
            release = self.ws.store.releases.find(release_id)
        except NotFound:
            raise OperationError(
                f"no release {release_id!r}", status=404, hint=f"`roost release list {service}`"
            ) from None
        if release.service != service:
            raise OperationError(f"release {release_id} is a release of {release.service}")
        return release

    def rollout(self, rollout_id: str) -> RolloutRecord:
        try:
            return self.ws.store.rollouts.find(rollout_id)
        except NotFound:
            raise OperationError(
                f"no rollout {rollout_id!r}", status=404, hint="`roost history SERVICE` lists them"
            ) from None

    def leading(self) -> Refusal | None:
        """Why this process may not operate (it does not lead), or None."""
        try:
            self.executor.require_leading()
        except OperationError as exc:
            return Refusal("leading", str(exc), exc.hint or "")
        return None

    def context(
        self,
        spec: Service,
        env_name: str,
        env: Environment,
        *,
        actor: str,
        rollback: bool = False,
        release: ReleaseRecord | None = None,
        approve: bool = False,
        overrides: Mapping[str, str | None] | None = None,
    ) -> DeployContext:
        """What the guards judge a deploy (or rollback) of ``spec`` to ``env_name`` by."""
        return DeployContext(
            ws=self.ws,
            service=spec,
            environment=env_name,
            env=env,
            actor=actor,
            now=self.ws.clock.now(),
            rollback=rollback,
            release=release,
            approve=approve,
            overrides={k: v for k, v in (overrides or {}).items() if v is not None},
            leading=self.leading(),
            deploy_locks=self.plane.deploy_locks,
            read_stable=lambda: self.stable(spec.name, env_name),
            read_slo_reports=lambda: self.plane.slos.reports()[1],
        )

    def check(self, guards: Sequence[Guard], ctx: DeployContext) -> tuple[Override, ...]:
        """Run ``guards``; raise the first refusal, else return the overrides to audit."""
        result = check_all(guards, ctx)
        if isinstance(result, Refusal):
            raise refuse(result)
        return result

    def promoted(self, service: str, environment: str) -> str | None:
        """The release ``service`` was last promoted to in ``environment`` (what runs there)."""
        for record in self.ws.store.rollouts.list(service, environment, limit=200):
            if record.state == "promoted":
                return record.to_release
        return None

    def stable(self, service: str, environment: str) -> str | None:
        """The revision with most of ``service``'s traffic in ``environment`` now, as the agent
        says (another environment's router is never asked: each has its own stable revision)."""
        with self.executor.agent(environment) as agent:
            return current_revision(agent.state(), service)

    def view(self, record: RolloutRecord) -> dict[str, Any]:
        return rollout_view(record, self.executor.applier.spec(record.to_release))

    # -- deploy ---------------------------------------------------------------------------------

    def deploy(
        self,
        service: str,
        *,
        environment: str | None = None,
        release: str | None = None,
        env_overrides: Mapping[str, str] | None = None,
        secret_env: Mapping[str, str] | None = None,
        approve: bool = False,
        actor: str,
        override_budget: str | None = None,
        override_scan: str | None = None,
        override_promotion: str | None = None,
    ) -> dict[str, Any]:
        """Roll out ``release`` of ``service``: default, a new one cut from roost.yaml — or,
        in an environment with ``promote_from: X``, the release X runs (``roost promote``).

        With the environment's approval required, the rollout waits for ``roost approve``;
        ``approve`` counts the requester's own approval, which four eyes refuses.
        ``secret_env`` holds the values of ``env:`` secrets, read by the CLI that asks.
        """
        self.reload()
        spec, env_name, env = self.target(service, environment)
        if release is None and env.promote_from is not None and not env_overrides:
            release = self.promoted(spec.name, env.promote_from)
        existing = None if release is None else self.release_of(spec.name, release)
        if existing is not None and env_overrides:
            raise OperationError("--set-env makes a new release; it cannot change " + existing.id)
        ctx = self.context(
            spec,
            env_name,
            env,
            actor=actor,
            release=existing,
            approve=approve,
            overrides={
                "promotion": override_promotion,
                "error_budget": override_budget,
                "scan": override_scan,
            },
        )
        overrides = self.check(DEPLOY_GUARDS, ctx)
        now, stable = ctx.now, ctx.stable
        grants = (ApprovalGrant(actor, now),) if approve and env.approval.required else ()
        record = existing or cut_release(
            self.ws.store,
            self.ws.project,
            spec.name,
            root=self.ws.root,
            vault=vault_of(self.ws),
            secret_env=secret_env,
            env_overrides=dict(env_overrides or {}),
            created_by=actor,
        )
        if existing is None:
            # A new release pins the secrets it read; fails here, not in the loop, if it cannot.
            revision_spec(
                record,
                environment_name=env_name,
                environment=env,
                root=self.ws.root,
                vault=vault_of(self.ws),
            )
        audit(self.ws, overrides, actor=actor, fence=self.executor.fence())
        request = DeployRequest("deploy", env_name, actor, now, approvals=grants)
        waiting = check_approval(
            env.approval, requested_by=actor, requested_at=now, grants=grants, now=now
        )
        if waiting is None:
            return self.view(self.executor.begin(release=record, stable=stable, request=request))
        request = request.with_changes(waiting=f"waiting for approval: {waiting.message}")
        lines = [("approval_requested", {"by": actor, "needs": env.approval.min_approvals})]
        pending = self.ws.store.rollouts.create(
            spec.name,
            env_name,
            to_release=record.id,
            from_release=stable,
            strategy=choose_strategy(service_of(record), stable=stable).value,
            state=AWAITING_APPROVAL,
            data=record_data(None, request),
            timeline=lines,
            fence=self.executor.fence(),
        )
        self.executor.applier.audit(pending, lines, actor=actor)
        return self.view(pending)

    # -- approval -------------------------------------------------------------------------------

    def approve(self, rollout_id: str, *, actor: str) -> dict[str, Any]:
        """Add ``actor``'s approval; the rollout starts once it has enough of them."""
        self.executor.require_leading()
        record = self.rollout(rollout_id)
        if record.state != AWAITING_APPROVAL or not record.active:
            raise OperationError(
                f"rollout {record.id} does not wait for approval (it is {record.state})",
                status=409,
            )
        request = load_request(record)
        approval = self.plane.environment(request.environment)[1].approval
        refusal = check_approver(approval, requested_by=request.requested_by, approver=actor)
        if refusal is not None:
            raise refuse(refusal)
        if any(g.by.casefold() == actor.casefold() for g in request.approvals):
            raise OperationError(f"{actor} has already approved {record.id}", status=409)
        now = self.ws.clock.now()
        grants = (*request.approvals, ApprovalGrant(actor, now))
        missing = check_approval(
            approval,
            requested_by=request.requested_by,
            requested_at=request.requested_at,
            grants=grants,
            now=now,
        )
        request = request.with_changes(approvals=grants)
        note = (
            "approved",
            {"by": actor, "approvals": len(grants), "needs": approval.min_approvals},
        )
        if missing is None:
            # The final approval is its approver's act: audited under their name before the
            # start, which is recorded under the requester's.
            self.executor.applier.audit(record, [note], actor=actor)
            return self.view(
                self.executor.begin(
                    release=self.executor.applier.release(record.to_release),
                    stable=self.stable(record.service, record.environment),
                    request=request,
                    record=record,
                    notes=[note],
                )
            )
        if "expired" in missing.message:
            raise refuse(missing)
        request = request.with_changes(waiting=f"waiting for approval: {missing.message}")
        record = self.ws.store.rollouts.transition(
            record.id,
            expected_version=record.version,
            state=AWAITING_APPROVAL,
            data=record_data(None, request),
            timeline=[note],
            fence=self.executor.fence(),
        )
        self.executor.applier.audit(record, [note], actor=actor)
        return self.view(record)

    # -- commands -------------------------------------------------------------------------------

    def command(
        self, rollout_id: str, kind: CommandKind, *, actor: str, reason: str = ""
    ) -> dict[str, Any]:
        """promote / promote_full / pause / resume / abort a running rollout."""
        self.executor.require_leading()
        record = self.rollout(rollout_id)
        if not record.active:
            raise OperationError(
                f"rollout {record.id} has ended ({record.state})",
                status=409,
                hint=f"`roost history {record.service}` shows what happened",
            )
        if record.state == AWAITING_APPROVAL:
            if kind is not CommandKind.ABORT:
                raise OperationError(
                    f"rollout {record.id} waits for approval", status=409, hint="approve it first"
                )
            lines = [("cancelled", {"by": actor, "reason": reason})]
            request = load_request(record).with_changes(waiting=None)
            record = self.ws.store.rollouts.transition(
                record.id,
                expected_version=record.version,
                state=CANCELLED,
                data=record_data(None, request),
                ended=True,
                timeline=lines,
                fence=self.executor.fence(),
            )
            self.executor.applier.audit(record, lines, actor=actor)
            return self.view(record)
        record, ignored = self.executor.command(
            record.id, HumanCommand(kind, by=actor, reason=reason)
        )
        if ignored:
            raise OperationError(f"{kind.value} ignored: {ignored[0]}", status=409)
        return self.view(record)

    def find(self, what: str, environment: str | None = None) -> RolloutRecord:
        """A rollout by id, or a service's active (else latest) rollout."""
        try:
            return self.ws.store.rollouts.find(what)
        except NotFound:
            pass
        found = self.ws.store.rollouts.list(what, environment, limit=1)
        active = [r for r in self.ws.store.rollouts.list(what, environment, active_only=True)]
        places = sorted({r.environment for r in active})
        if len(places) > 1:
            # Environments are boundaries: a command must not pick one of them by chance.
            raise OperationError(
                f"{what} has active rollouts in {' and '.join(places)}",
                status=409,
                hint="name the environment with --env, or the rollout by its id",
            )
        if active:
            return active[0]
        if found:
            return found[0]
        raise OperationError(
            f"no rollout {what!r} (neither a rollout id nor a service with rollouts)",
            status=404,
            hint="`roost history SERVICE` lists rollouts",
        )

    def __repr__(self) -> str:
        return f"Deployments({self.ws.project.project!r})"
