from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel, ValidationError

from roost.spec import Duration, PositiveDuration, format_duration, parse_duration

GOOD = [
    ("30s", timedelta(seconds=30)),
    ("5m", timedelta(minutes=5)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("2h", timedelta(hours=2)),
    ("500ms", timedelta(milliseconds=500)),
    ("1d", timedelta(days=1)),
    ("1h30m15s", timedelta(hours=1, minutes=30, seconds=15)),
    ("1m30s500ms", timedelta(minutes=1, seconds=30, milliseconds=500)),
    ("0s", timedelta(0)),
    ("90", timedelta(seconds=90)),
    (" 5m ", timedelta(minutes=5)),
    ("2d12h", timedelta(days=2, hours=12)),
]
BAD = ["5x", "-3s", "", " ", "1.5.3m", "m5", "1.5m", "5 m", "1m1h", "1h1h", "5mm", "5M", "٣s", "s"]


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_parses_good_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", BAD)
def test_rejects_bad_durations_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration") as caught:
        parse_duration(text)
    assert f'"{text}"' in str(caught.value)
    assert "(use e.g. 30s, 5m, 1h30m)" in str(caught.value)


def test_message_for_5x_is_exact() -> None:
    with pytest.raises(ValueError, match="5x") as caught:
        parse_duration("5x")
    assert str(caught.value) == '"5x" is not a duration (use e.g. 30s, 5m, 1h30m)'


def test_absurdly_long_duration_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration("99999999999999d")


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_format_round_trips(text: str, expected: timedelta) -> None:
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=90), "1h30m"),
        (timedelta(0), "0s"),
        (timedelta(milliseconds=1500), "1s500ms"),
        (timedelta(days=1, seconds=1), "1d1s"),
    ],
)
def test_format_is_canonical(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


class _Timing(BaseModel):
    timeout: Duration
    period: PositiveDuration = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("30s", timedelta(seconds=30)), (30, timedelta(seconds=30)), (timedelta(1), timedelta(1))],
)
def test_duration_type_accepts_strings_integers_and_timedeltas(
    value: object, expected: timedelta
) -> None:
    assert _Timing.model_validate({"timeout": value}).timeout == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5x", '"5x" is not a duration'),
        (-3, "cannot be negative"),
        (1.5, "is not a duration"),
        (True, "expected a duration, got true"),
        (None, "expected a duration, got NoneType"),
        (timedelta(microseconds=5), "whole milliseconds"),
    ],
)
def test_duration_type_rejects(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _Timing.model_validate({"timeout": value})


def test_positive_duration_rejects_zero() -> None:
    with pytest.raises(ValidationError, match="longer than 0s"):
        _Timing.model_validate({"timeout": "1s", "period": "0s"})


def test_duration_dumps_as_text_in_json() -> None:
    timing = _Timing.model_validate({"timeout": "1h30m"})
    assert timing.model_dump(mode="json") == {"timeout": "1h30m", "period": "1s"}
    assert timing.model_dump()["timeout"] == timedelta(minutes=90)


def test_duration_json_schema_is_a_string_pattern_or_integer() -> None:
    schema = _Timing.model_json_schema()["properties"]["timeout"]
    kinds = {alternative["type"] for alternative in schema["anyOf"]}
    assert kinds == {"string", "integer"}
    assert any("pattern" in alternative for alternative in schema["anyOf"])
