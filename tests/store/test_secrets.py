"""Sealed secret versions in the store (SQLite and PostgreSQL): numbered per name, and a
re-wrap that is all or nothing."""

from __future__ import annotations

import pytest

from roost.clock import VirtualClock
from roost.store import NotFound, open_store


def _sealer(tag: str):  # type: ignore[no-untyped-def]
    return lambda version: (f"ct-{tag}-{version}", f"wk-{tag}-{version}", "kek-a")


def test_versions_are_numbered_per_name_across_environments(
    store_url: str, clock: VirtualClock
) -> None:
    with open_store(store_url, clock=clock) as store:
        one = store.secrets.add("db", scope="", seal=_sealer("x"), digest="d1", created_by="a")
        two = store.secrets.add("db", scope="prod", seal=_sealer("y"), digest="d2", created_by="b")
        other = store.secrets.add("api", scope="", seal=_sealer("z"), digest="d3", created_by="a")
        assert (one.version, two.version, other.version) == (1, 2, 1)
        assert one.ciphertext == "ct-x-1"  # the version number is bound into the sealing
        assert [r.version for r in store.secrets.versions("db")] == [2, 1]
        assert store.secrets.get("db", 2).scope == "prod"
        assert "ct-" not in repr(two)
        with pytest.raises(NotFound):
            store.secrets.get("db", 3)


def test_a_rewrap_that_fails_half_way_changes_no_row(store_url: str, clock: VirtualClock) -> None:
    with open_store(store_url, clock=clock) as store:
        for tag in ("a", "b", "c"):
            store.secrets.add("db", scope="", seal=_sealer(tag), digest="d", created_by="x")
        before = store.secrets.versions()
        seen = []

        def failing(name: str, version: int, wrapped: str, kek: str) -> tuple[str, str]:
            seen.append(version)
            if len(seen) == 2:
                raise RuntimeError("the new key store went away")
            return "new-" + wrapped, "kek-b"

        with pytest.raises(RuntimeError):
            store.secrets.rewrap(failing)
        assert seen == [1, 2]
        assert store.secrets.versions() == before
        count = store.secrets.rewrap(lambda n, v, w, k: ("new-" + w, "kek-b"))
        assert count == 3
        assert {r.kek_id for r in store.secrets.versions()} == {"kek-b"}
