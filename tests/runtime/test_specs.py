from pathlib import Path

import pytest
from pydantic import ValidationError

from roost.runtime import ConfigFile, ProbeSpec, RevisionSpec


def _spec(**fields: object) -> RevisionSpec:
    return RevisionSpec.model_validate(
        {"service": "web", "revision": "r1", "command": ["app"], "workdir": "/srv", **fields}
    )


def test_probe_defaults_are_kubernetes_defaults() -> None:
    probe = ProbeSpec(tcp={})
    assert (probe.initial_delay, probe.period, probe.timeout) == (0, 10, 1)
    assert (probe.success_threshold, probe.failure_threshold) == (1, 3)
    assert probe.kind == "tcp"
    assert ProbeSpec(http={}).http.expect_status == (200, 399)  # type: ignore[union-attr]


@pytest.mark.parametrize("handlers", [{}, {"tcp": {}, "exec": {"command": ["true"]}}])
def test_a_probe_has_exactly_one_handler(handlers: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="exactly one of http, tcp or exec"):
        ProbeSpec.model_validate(handlers)


def test_startup_and_liveness_need_one_success() -> None:
    with pytest.raises(ValidationError, match="liveness probes must have success_threshold 1"):
        _spec(probes={"liveness": {"tcp": {}, "success_threshold": 2}})
    _spec(probes={"readiness": {"tcp": {}, "success_threshold": 2}})


@pytest.mark.parametrize("path", ["/etc/passwd", "../up", "a/../../b", ""])
def test_config_files_stay_inside(path: str) -> None:
    with pytest.raises(ValidationError, match="must be relative"):
        ConfigFile(path=path, content=b"")


def test_names_must_be_safe_directory_names() -> None:
    with pytest.raises(ValidationError):
        _spec(revision="../r1")
    with pytest.raises(ValidationError, match="not a valid environment variable name"):
        _spec(secrets={"BAD-NAME": "x"})


def test_secrets_stay_out_of_repr() -> None:
    spec = _spec(secrets={"TOKEN": "hunter2"})
    assert "hunter2" not in repr(spec)


def test_spec_round_trips_through_json_with_binary_config() -> None:
    spec = _spec(
        config_files=[ConfigFile(path="bin/blob", content=bytes(range(256)))],
        probes={"readiness": {"http": {"path": "/ready", "headers": {"Host": "x"}}}},
        workdir=Path("/srv/app"),
    )
    assert RevisionSpec.model_validate_json(spec.model_dump_json()) == spec
