import dataclasses
import json

import pytest
from tests.rollout._fakes import T0

from roost.rollout import Migration, RollbackPlan, RollbackRefused, plan_rollback
from roost.store.records import ReleaseRecord


def release(seq: int, requires: str, migrates_to: int | None = None) -> ReleaseRecord:
    return ReleaseRecord(
        id=f"shop-r{seq}",
        service="shop",
        seq=seq,
        artifact=f"sha256:{seq:064x}",
        config={"env": {"MODE": f"v{seq}"}, "files": {"app.toml": f"version = {seq}"}},
        secrets={"DB_PASSWORD": f"vault:db#password@{seq}"},
        schema_requires=requires,
        schema_migrates_to=migrates_to,
        created_at=T0,
        created_by="alice",
        notes="",
    )


R9 = release(9, ">=6,<8", 7)
R10 = release(10, ">=7,<9")
R11 = release(11, ">=8", 8)
R12 = release(12, ">=8,<10", 9)


def test_rollback_restores_code_config_and_secrets_together() -> None:
    plan = plan_rollback(R10, current=R11, schema_version=8, requested_by="alice")
    assert isinstance(plan, RollbackPlan)
    assert (plan.target, plan.current) == ("shop-r10", "shop-r11")
    assert plan.artifact == R10.artifact
    assert plan.config == R10.config
    assert plan.secrets == R10.secrets
    assert not plan.fast
    assert not plan.audited_override
    assert plan.notes == ()
    json.dumps(plan.to_dict())


def test_fast_rollback_is_one_step() -> None:
    plan = plan_rollback(R10, current=R11, schema_version=8, fast=True, requested_by="alice")
    assert isinstance(plan, RollbackPlan)
    assert plan.fast


def test_rollback_across_an_incompatible_migration_is_refused_and_names_it() -> None:
    refused = plan_rollback(
        R9, current=R12, between=[R11, R10], schema_version=9, requested_by="alice"
    )
    assert isinstance(refused, RollbackRefused)
    assert refused.blocking == (Migration("shop-r11", 8), Migration("shop-r12", 9))
    assert refused.reason == (
        "refusing to roll shop back to shop-r9: shop-r9 requires schema >=6,<8, but the "
        "environment is on schema 9 — shop-r11 migrated the schema to 8 (then shop-r12 to 9)"
    )
    assert refused.hint.startswith(
        "roll forward instead: release a fix on top of shop-r12 that runs on schema 9"
    )
    assert "--force" in refused.hint
    assert refused.forceable
    assert "roll forward" in str(refused)
    json.dumps(refused.to_dict())


def test_refusal_suggests_the_newest_compatible_release() -> None:
    r13 = release(13, ">=9", None)
    refused = plan_rollback(
        R10, current=r13, between=[R11, R12], schema_version=9, requested_by="alice"
    )
    assert isinstance(refused, RollbackRefused)
    assert refused.compatible == "shop-r12"
    assert "or roll back to shop-r12, which runs on schema 9" in refused.hint


def test_a_schema_changed_outside_roost_is_said_so() -> None:
    refused = plan_rollback(R10, current=R11, schema_version=12, requested_by="alice")
    assert isinstance(refused, RollbackRefused)
    assert refused.blocking == ()
    assert "changed outside roost" in refused.reason


def test_force_plans_anyway_and_flags_it_for_the_audit_log() -> None:
    plan = plan_rollback(
        R9, current=R12, between=[R10, R11], schema_version=9, force=True, requested_by="bob"
    )
    assert isinstance(plan, RollbackPlan)
    assert plan.audited_override
    assert plan.override_reason is not None
    assert "shop-r11 migrated the schema to 8" in plan.override_reason
    assert plan.override_reason.endswith("forced by bob")
    assert plan.artifact == R9.artifact
    assert any("audited" in note for note in plan.notes)


def test_untracked_schema_is_not_checked_but_noted() -> None:
    plan = plan_rollback(R9, current=R12, schema_version=None, requested_by="alice")
    assert isinstance(plan, RollbackPlan)
    assert not plan.audited_override
    assert "not tracked" in plan.notes[0]


def test_rolling_back_to_the_running_release_is_refused_even_with_force() -> None:
    refused = plan_rollback(R11, current=R11, schema_version=8, force=True, requested_by="a")
    assert isinstance(refused, RollbackRefused)
    assert not refused.forceable
    assert "running now" in refused.reason


def test_releases_of_another_service_are_a_programming_error() -> None:
    other = dataclasses.replace(R10, id="cart-r10", service="cart")
    with pytest.raises(ValueError, match="cart"):
        plan_rollback(other, current=R11, schema_version=8, requested_by="alice")
