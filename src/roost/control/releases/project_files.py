"""``file:`` secrets: a file inside the project, read when a release is cut."""

from __future__ import annotations

from pathlib import Path

from roost.control.releases.errors import ReleaseError
from roost.spec.services import secret_source_problem


def read_project_file(source: str, *, root: Path) -> str:
    """The value of a ``file:path`` secret: a file inside the project (symlinks included:
    the resolved path must stay inside too)."""
    where = source.removeprefix("file:")
    if (problem := secret_source_problem(source)) is not None:
        raise ReleaseError(f"secret {source!r}: {problem[0]}", hint=problem[1])
    base = root.resolve()
    path = (base / where).resolve()
    if not path.is_relative_to(base):
        raise ReleaseError(
            f"secret {source!r} leads out of the project (through a symbolic link)",
            hint="name a file inside the project",
        )
    try:
        value = path.read_text().rstrip("\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ReleaseError(f"secret {source!r}: cannot read {where}: {reason}") from None
    return value
