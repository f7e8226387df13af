"""Silences: label matchers and a time range; kept in a JSON file under the project's
``.roost/`` (no database table of their own)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


class SilenceError(ValueError):
    """A silence (or the silences file) is malformed."""


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes alerts whose labels match every matcher (``value`` is exact, or a full regex
    when ``~`` starts it) from ``starts_at`` until ``ends_at``."""

    id: str
    matchers: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def __post_init__(self) -> None:
        if not self.matchers:
            raise SilenceError("a silence needs at least one matcher (it would mute everything)")
        if self.ends_at <= self.starts_at:
            raise SilenceError("a silence must end after it starts")
        for name, value in self.matchers.items():
            if value.startswith("~"):
                try:
                    re.compile(value[1:])
                except re.error as exc:
                    raise SilenceError(f"matcher {name}={value!r} is not a regex: {exc}") from None

    def active(self, now: datetime) -> bool:
        """Whether it mutes at ``now``."""
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` match every matcher."""
        for name, want in self.matchers.items():
            have = labels.get(name, "")
            if want.startswith("~"):
                if re.fullmatch(want[1:], have) is None:
                    return False
            elif have != want:
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        """For the silences file."""
        return {
            "id": self.id,
            "matchers": dict(self.matchers),
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "created_by": self.created_by,
            "comment": self.comment,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Silence:
        """Inverse of :meth:`to_json`; :class:`SilenceError` when malformed."""
        try:
            return cls(
                id=str(raw["id"]),
                matchers={str(k): str(v) for k, v in raw["matchers"].items()},
                starts_at=datetime.fromisoformat(raw["starts_at"]),
                ends_at=datetime.fromisoformat(raw["ends_at"]),
                created_by=str(raw["created_by"]),
                comment=str(raw["comment"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SilenceError(f"malformed silence: {exc!r}") from None


def silenced(labels: Mapping[str, str], silences: Sequence[Silence], now: datetime) -> bool:
    """Whether an active silence mutes ``labels``."""
    return any(s.active(now) and s.matches(labels) for s in silences)


def load(path: Path) -> list[Silence]:
    """The silences saved at ``path`` (none when it does not exist)."""
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
        return [Silence.from_json(item) for item in data["silences"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SilenceError(f"{path}: cannot read silences: {exc}") from None


def save(path: Path, silences: Sequence[Silence]) -> None:
    """Write ``silences`` to ``path`` atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"silences": [s.to_json() for s in silences]}, indent=2)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".silences-")
    with os.fdopen(fd, "w") as f:
        f.write(body)
    Path(tmp).replace(path)
