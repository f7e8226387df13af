"""What goes wrong in a roost.yaml, with where it went wrong.

A :class:`Problem` is one located message; a :class:`SpecError` carries every problem found in
one pass, because fixing a config one error per run is the experience we want to avoid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a project file.

    ``line`` and ``column`` are 1-based. They are both 0 when the problem has no position in the
    file, e.g. the file cannot be read at all.
    """

    file: str
    line: int
    column: int
    message: str
    hint: str | None = None

    def format(self) -> str:
        """``file:line:column: message (hint)``; `` (hint)`` is left out when there is none."""
        text = f"{self.file}:{self.line}:{self.column}: {self.message}"
        if self.hint is not None:
            text += f" ({self.hint})"
        return text


class SpecError(Exception):
    """A project file could not be loaded; ``problems`` lists all that was found, in file order."""

    problems: list[Problem]

    def __init__(self, problems: Iterable[Problem]) -> None:
        unique = dict.fromkeys(problems)  # the same problem can be reached by two checks
        self.problems = sorted(unique, key=lambda p: (p.file, p.line, p.column, p.message))
        super().__init__("\n".join(p.format() for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(p.format() for p in self.problems)

    def __reduce__(self) -> tuple[type[SpecError], tuple[list[Problem]]]:
        return (type(self), (self.problems,))
