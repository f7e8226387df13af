"""Reading a roost.yaml: YAML → data → models, every problem located, all of them at once.

Whatever the input, the only exception that leaves :func:`parse_project` and
:func:`load_project` is :class:`SpecError`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from roost.spec._issues import Issue
from roost.spec.availability import check_available
from roost.spec.documents import Document, compose
from roost.spec.locating import problems_from_error, problems_from_issues
from roost.spec.problems import Problem, SpecError
from roost.spec.project import Project
from roost.spec.references import check_references

FILE_NAMES = ("roost.yaml", "roost.yml")

_EXAMPLE_TOP = "start with e.g. `project: shop`, `version: 1`, `environments:` and `services:`"


def load_project(path: Path) -> Project:
    """Read and validate the project file at ``path``.

    Raises :class:`SpecError` for any problem. A file that cannot be read or decoded gives one
    problem at line 0, column 0 (it has no position in the file).
    """
    filename = str(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        reason = err.strerror or str(err)
        raise SpecError(
            [Problem(filename, 0, 0, f"cannot read the file: {reason}", "check the path")]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        message = f"the file is not UTF-8 text (byte 0x{raw[err.start]:02x})"
        raise SpecError([Problem(filename, line, column, message, "save it as UTF-8")]) from None
    return parse_project(text, filename=filename)


def parse_project(text: str, *, filename: str) -> Project:
    """Validate the project file content ``text``; ``filename`` is used in problems."""
    try:
        return _parse(text, filename)
    except SpecError:
        raise
    except RecursionError:
        raise SpecError(
            [Problem(filename, 1, 1, "the file is nested too deeply", "roost.yaml is shallow")]
        ) from None
    except Exception as err:
        # A bug in a check must not become a traceback for a user editing a file; say what
        # happened and keep the original as the cause for whoever debugs it.
        message = f"roost could not check this file: {type(err).__name__}: {err}"
        raise SpecError([Problem(filename, 1, 1, message, "this is a bug in roost")]) from err


def _parse(text: str, filename: str) -> Project:
    document = compose(text)
    problems = [Problem(filename, p.line, p.column, p.message, p.hint) for p in document.problems]
    if document.root is None:
        if not problems:
            problems.append(Problem(filename, 1, 1, "the file is empty", _EXAMPLE_TOP))
        raise SpecError(problems)
    if not isinstance(document.data, dict):
        kind = "a list" if isinstance(document.data, list) else "a single value"
        position = document.locate(())
        message = f"the top level must be a mapping of fields, not {kind}"
        raise SpecError(
            [*problems, Problem(filename, position.line, position.column, message, _EXAMPLE_TOP)]
        )
    project: Project | None = None
    try:
        project = Project.model_validate(document.data)
    except ValidationError as err:
        # A value YAML already complained about (an unsupported tag) is not reported twice.
        seen = {(p.line, p.column) for p in problems}
        located = problems_from_error(err, document, filename)
        problems += [p for p in located if (p.line, p.column) not in seen]
    problems += _reference_problems(document, filename)
    if problems or project is None:
        raise SpecError(problems)
    return project


def _reference_problems(document: Document, filename: str) -> list[Problem]:
    issues = check_references(document.data) + check_available(document.data)
    return problems_from_issues(issues, document, filename)


def find_project_file(start: Path) -> Path | None:
    """The project file for ``start``: ``start`` itself if it is a file, else ``roost.yaml`` (or
    ``roost.yml``) in the directory ``start``. Parent directories are not searched."""
    if start.is_file():
        return start
    if start.is_dir():
        for name in FILE_NAMES:
            candidate = start / name
            if candidate.is_file():
                return candidate
    return None


def stored_secret_problems(path: Path, project: Project, missing: set[str]) -> list[Problem]:
    """Located problems for the ``roost:`` secret sources of ``project`` (loaded from
    ``path``) that are in ``missing`` — the names the state store does not hold, which only a
    caller that can reach the store knows."""
    issues = [
        Issue(
            f"no stored secret {ref.source.removeprefix('roost:')!r}",
            at=("services", s_index, "secrets", r_index, "from"),
            hint=f"store it first: `roost secret set {ref.source.removeprefix('roost:')}` "
            "(the value on stdin); `roost secret list` shows the stored ones",
        )
        for s_index, service in enumerate(project.services)
        for r_index, ref in enumerate(service.secrets)
        if ref.source in missing
    ]
    if not issues:
        return []
    return problems_from_issues(issues, compose(path.read_text()), str(path))
