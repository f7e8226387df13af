"""Tokens and role bindings on both backends: a token is stored only as its hash, with its first
role binding in the same transaction; names are never reused; revocation is for good; grants
are idempotent and revocations exact."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.store._db import raw_connection

from roost.clock import VirtualClock
from roost.store import Conflict, NotFound, Store

HASH = "a" * 64


def test_a_token_is_its_hash_and_its_bindings(
    store: Store, store_url: str, clock: VirtualClock
) -> None:
    made = store.tokens.create(
        "ci",
        token_hash=HASH,
        created_by="ada",
        expires_at=clock.now() + timedelta(days=30),
        bindings=[("deployer", "staging-*", "*")],
    )
    assert made.usable(clock.now())
    assert not made.usable(clock.now() + timedelta(days=31))
    assert store.tokens.find_by_hash(HASH) == made
    assert store.tokens.find_by_hash("b" * 64) is None
    (binding,) = store.roles.of(["ci", "group:nobody"])
    assert (binding.subject, binding.role, binding.environment) == ("ci", "deployer", "staging-*")
    with raw_connection(store_url) as conn:
        columns = conn.execute(sa.text("SELECT * FROM api_tokens")).keys()
    assert "token" not in columns
    assert "token_hash" in columns


def test_a_name_is_never_reused_and_nothing_half_made_remains(store: Store) -> None:
    store.tokens.create("ci", token_hash=HASH, created_by="ada")
    store.tokens.revoke("ci")
    with pytest.raises(Conflict, match="a token named 'ci' exists already"):
        store.tokens.create("ci", token_hash="c" * 64, created_by="ada")
    with pytest.raises(ValueError, match="role"):
        store.tokens.create("bad", token_hash="d" * 64, created_by="ada", bindings=[("", "*", "*")])
    assert [t.name for t in store.tokens.list()] == ["ci"]  # the failed one rolled back


def test_revocation_is_for_good_and_use_is_recorded(store: Store, clock: VirtualClock) -> None:
    store.tokens.create("ci", token_hash=HASH, created_by="ada")
    store.tokens.touch("ci", clock.now())
    assert store.tokens.get("ci").last_used_at == clock.now()
    first = store.tokens.revoke("ci")
    clock.advance(60)
    again = store.tokens.revoke("ci")
    assert first.revoked_at == again.revoked_at  # idempotent: the first time stays
    assert not again.usable(clock.now())
    with pytest.raises(NotFound):
        store.tokens.revoke("nobody")


def test_grants_are_idempotent_and_revocations_exact(store: Store) -> None:
    binding, new = store.roles.grant(
        "group:sre", "approver", environment="production", service="*", created_by="ada"
    )
    assert new
    again, new_again = store.roles.grant(
        "group:sre", "approver", environment="production", service="*", created_by="bob"
    )
    assert (again, new_again) == (binding, False)
    assert not store.roles.revoke("group:sre", "approver", environment="prod*", service="*")
    assert store.roles.revoke("group:sre", "approver", environment="production", service="*")
    assert store.roles.list() == []
