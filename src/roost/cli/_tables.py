"""Tables that never truncate: a narrow terminal folds long cells onto more lines.

Rich's default overflow is an ellipsis, so on an 80-column terminal a digest, a revision name or
a release id lost its end — the very part people copy. Every column of this :class:`Table` folds
instead (``overflow="fold"``); nothing is cut, the table only gets taller.
"""

from __future__ import annotations

from typing import Any

from rich import table as _rich


class Table(_rich.Table):
    """:class:`rich.table.Table` whose columns fold rather than truncate."""

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("overflow", "fold")
        kwargs.setdefault("no_wrap", False)
        super().add_column(*args, **kwargs)
