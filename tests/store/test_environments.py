from __future__ import annotations

import pytest

from roost.clock import VirtualClock
from roost.store import EnvironmentSchemaRecord, Store


def test_schema_versions_per_environment(store: Store, clock: VirtualClock) -> None:
    assert store.environments.schema_version("production") is None
    store.environments.set_schema_version("production", 3)
    clock.advance(5)
    record = store.environments.set_schema_version("production", 4)
    store.environments.set_schema_version("staging", 5)
    assert record == EnvironmentSchemaRecord("production", 4, clock.now())
    assert store.environments.schema_version("production") == 4
    store.environments.set_schema_version("production", 2)  # a down migration
    assert store.environments.schema_version("production") == 2
    assert [(r.environment, r.version) for r in store.environments.list()] == [
        ("production", 2),
        ("staging", 5),
    ]


def test_schema_version_must_be_a_non_negative_int(store: Store) -> None:
    for bad in (-1, True, "3"):
        with pytest.raises(ValueError, match="non-negative int"):
            store.environments.set_schema_version("prod", bad)  # type: ignore[arg-type]
