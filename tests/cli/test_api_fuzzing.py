"""Fuzzing the HTTP API: schemathesis generates requests from the OpenAPI document, valid ones
and deliberately invalid ones, for every operation, and sends them to a real `roost up` (control
plane, agent and replicas). No answer may be a 5xx: bad input is a 4xx that names the problem.

The number of examples is bounded (``EXAMPLES`` per operation and mode) so that the test stays
around a minute; ``ROOST_FUZZ_EXAMPLES`` raises it for a longer hunt.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._roost import REPO, kill_leftovers, roost

EXAMPLES = int(os.environ.get("ROOST_FUZZ_EXAMPLES", "6"))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "hello"
    shutil.copytree(REPO / "examples" / "hello", root)
    up = roost("up", "--project", str(root), timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield str(json.loads((root / ".roost" / "api.json").read_text())["url"])
    finally:
        roost("down", "--project", str(root), timeout=120)
        kill_leftovers(root)


def test_no_generated_request_gets_a_server_error(api: str) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{api}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    server_errors: list[str] = []
    calls = 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                nonlocal calls
                calls += 1
                response = case.call(base_url=api, timeout=60)
                if response.status_code >= 500:
                    server_errors.append(
                        f"{response.status_code} {case.as_curl_command()} -> {response.text[:300]}"
                    )

            try:
                call()
            except Unsatisfiable:
                # Nothing invalid can be made for an operation without parameters (/healthz).
                assert mode is GenerationMode.NEGATIVE
    assert calls > len(operations) * EXAMPLES
    assert server_errors == [], "\n".join(server_errors)
