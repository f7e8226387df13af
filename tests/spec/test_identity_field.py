"""`identity.audience` of a service: one string or a list, never empty, nothing else."""

from __future__ import annotations

import pytest

from roost.spec import SpecError, parse_project

BASE = """\
project: shop
version: 1
environments:
  dev: {}
services:
  - name: web
    command: python3 app.py
"""


def test_one_audience_or_several() -> None:
    one = parse_project(BASE + "    identity:\n      audience: payments\n", filename="roost.yaml")
    assert one.services[0].identity is not None
    assert one.services[0].identity.audience == ["payments"]
    many = parse_project(
        BASE + "    identity:\n      audience: [payments, ledger]\n", filename="roost.yaml"
    )
    assert many.services[0].identity is not None
    assert many.services[0].identity.audience == ["payments", "ledger"]
    assert parse_project(BASE, filename="roost.yaml").services[0].identity is None


@pytest.mark.parametrize(
    ("block", "where"),
    [
        ("    identity:\n      audience: []\n", "audience"),
        ("    identity:\n      audience: ['']\n", "audience"),
        ("    identity: {}\n", "audience"),
        ("    identity:\n      audience: x\n      lifetime: 1h\n", "lifetime"),
    ],
)
def test_bad_identities_are_located(block: str, where: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse_project(BASE + block, filename="roost.yaml")
    text = "\n".join(p.format() for p in raised.value.problems)
    assert where in text
    assert ":8:" in text or ":9:" in text or ":7:" in text, text
