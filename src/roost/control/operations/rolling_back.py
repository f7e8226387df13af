"""Rolling back to a release that ran before — all of it (code, config snapshot, secrets) and
only when it can work on the environment's schema — and the history that tells which ran.

The decision is the rollout domain's :func:`~roost.rollout.plan_rollback`; this module finds
its inputs (the release running now, the one before it, every release promoted since) and
starts an ordinary rollout of the target release, so a rollback ramps through the same canary
steps and analysis as a deploy (``fast``: straight to 100%). ``force`` overrides a schema
refusal and is written to the audit log with its reason.
"""

from __future__ import annotations

from typing import Any

from roost._util import event_catalog as events
from roost.control.errors import OperationError
from roost.control.guards import ROLLBACK_GUARDS
from roost.control.operations.deploying import Deployments
from roost.control.releases.revisions import revision_spec
from roost.control.releases.vault import vault_of
from roost.control.rollouts.requests import DeployRequest, load_request, load_state
from roost.rollout import RollbackRefused, plan_rollback
from roost.secrets import withhold_plain
from roost.store import ReleaseRecord, RolloutRecord

PROMOTED = "promoted"


class Rollbacks:
    """The operations behind ``roost rollback`` and ``roost history``."""

    def __init__(self, deployments: Deployments) -> None:
        self.deployments = deployments
        self.ws = deployments.ws

    def _promoted(self, service: str, environment: str) -> list[RolloutRecord]:
        records = self.ws.store.rollouts.list(service, environment, limit=1000)
        return [r for r in records if r.state == PROMOTED]

    def rollback(
        self,
        service: str,
        *,
        environment: str | None = None,
        to: str | None = None,
        fast: bool = False,
        force: str | None = None,
        actor: str,
    ) -> dict[str, Any]:
        """Roll ``service`` back to ``to`` (default: the release before the running one).

        ``force`` is the reason for overriding a schema refusal; it is audited.
        """
        ops = self.deployments
        executor = ops.executor
        spec, env_name, env = ops.target(service, environment)
        ops.check(ROLLBACK_GUARDS, ops.context(spec, env_name, env, actor=actor, rollback=True))
        running = ops.stable(spec.name, env_name)
        if running is None:
            raise OperationError(
                f"{spec.name} runs nothing in {env_name}: there is nothing to roll back",
                status=409,
                hint=f"`roost deploy {spec.name}`",
            )
        current = ops.release_of(spec.name, running)
        promoted = self._promoted(spec.name, env_name)
        ran = {r.to_release for r in promoted} | {
            r.from_release for r in promoted if r.from_release
        }
        target = self._target(spec.name, env_name, to, current, promoted, ran)
        between = [executor.applier.release(r) for r in sorted(ran - {target.id, current.id})]
        plan = plan_rollback(
            target,
            current=current,
            between=between,
            schema_version=self.ws.store.environments.schema_version(env_name),
            fast=fast,
            force=force is not None,
            requested_by=actor,
        )
        if isinstance(plan, RollbackRefused):
            raise OperationError(plan.reason, status=409, hint=plan.hint)
        # Fails before anything starts when a pinned secret version cannot be opened.
        revision_spec(
            target,
            environment_name=env_name,
            environment=env,
            root=self.ws.root,
            vault=vault_of(self.ws),
        )
        now = self.ws.clock.now()
        override = None if plan.override_reason is None else f"{plan.override_reason}: {force}"
        request = DeployRequest(
            "rollback", env_name, actor, now, fast=fast, override=override, extra={"force": force}
        )
        if plan.audited_override:
            self.ws.store.events.append(
                events.ROLLBACK_FORCED,
                source=events.SOURCE_ROLLOUTS,
                subject=f"{spec.name}/{env_name}",
                data={
                    "reason": force,
                    **plan.to_dict(),
                    "secrets": withhold_plain(plan.to_dict()["secrets"]),
                },
                actor=actor,
                fence=executor.fence(),
            )
        plan_line = {k: v for k, v in plan.to_dict().items() if k not in ("config", "secrets")}
        plan_line["secrets"] = sorted(plan.secrets)
        plan_line["config_files"] = [f.get("path") for f in plan.config.get("config_files", [])]
        record = executor.begin(
            release=target, stable=current.id, request=request, notes=[("rollback", plan_line)]
        )
        return ops.view(record)

    def _target(
        self,
        service: str,
        env_name: str,
        to: str | None,
        current: ReleaseRecord,
        promoted: list[RolloutRecord],
        ran: set[str],
    ) -> ReleaseRecord:
        ops = self.deployments
        if to is not None:
            target = ops.release_of(service, to)
            if target.id != current.id and target.id not in ran:
                raise OperationError(
                    f"{target.id} never ran in {env_name}: a rollback goes back to a release "
                    "that did",
                    status=409,
                    hint=f"`roost deploy {service} --release {target.id}` rolls it out instead",
                )
            return target
        before = next(
            (r.from_release for r in promoted if r.to_release == current.id and r.from_release),
            None,
        )
        if before is None:
            raise OperationError(
                f"no release of {service} ran in {env_name} before {current.id}",
                status=409,
                hint=f"`roost history {service}` shows what ran; pass --to RELEASE",
            )
        return ops.release_of(service, before)

    def history(self, service: str, environment: str | None = None) -> list[dict[str, Any]]:
        """The service's rollouts, newest first, one summary each."""
        self.deployments.plane.service(service)
        rows = []
        for record in self.ws.store.rollouts.list(service, environment, limit=200):
            state = load_state(record)
            request = load_request(record)
            row: dict[str, Any] = {
                "id": record.id,
                "environment": record.environment,
                "kind": request.kind,
                "from_release": record.from_release,
                "to_release": record.to_release,
                "strategy": record.strategy,
                "state": record.state,
                "requested_by": request.requested_by,
                "created_at": record.created_at.isoformat(),
                "ended_at": None if record.ended_at is None else record.ended_at.isoformat(),
                "reason": None,
                "override": request.override,
            }
            if state is not None and state.abort is not None:
                row["reason"] = state.abort.reason
                row["abort"] = state.abort.to_dict()
            elif state is not None and state.pause is not None:
                row["reason"] = state.pause.reason
            rows.append(row)
        return rows

    def __repr__(self) -> str:
        return f"Rollbacks({self.ws.project.project!r})"
