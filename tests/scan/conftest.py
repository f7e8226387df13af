"""Real OSV records (tests/scan/data/osv, shaped exactly as published) and the example
service's vendored site-packages (examples/vulnerable)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roost.scan.osv import Record, parse_record
from roost.scan.vulndb import VulnDB

DATA = Path(__file__).parent / "data"
OSV = DATA / "osv"
VULNERABLE = Path(__file__).parents[2] / "examples" / "vulnerable"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def record(record_id: str) -> Record:
    return parse_record(json.loads((OSV / f"{record_id}.json").read_text()))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[VulnDB]:
    with VulnDB(tmp_path / "vulndb" / "osv.sqlite") as opened:
        report = opened.import_path(OSV, now=NOW)
        assert not report.warnings
        yield opened
