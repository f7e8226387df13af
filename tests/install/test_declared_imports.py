"""Every third-party module that src/roost imports is declared in pyproject.toml.

A module imported by roost must come from a distribution in ``[project].dependencies`` (then a
plain ``pip install roost`` brings it), or from an optional extra — and then every import of it
sits inside ``try: ... except ImportError`` in its backend module, so a missing extra is a clear
message, not a traceback. The dev group does not count: users do not get it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "roost"


@dataclass(frozen=True)
class Use:
    module: str  # the top-level name, e.g. "yaml"
    where: str  # file:line
    guarded: bool  # inside try/except ImportError (or only for the type checker)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _catches_import_error(node: ast.Try) -> bool:
    for handler in node.handlers:
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for kind in kinds:
            if isinstance(kind, ast.Name) and kind.id in ("ImportError", "ModuleNotFoundError"):
                return True
    return False


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _uses(path: Path) -> list[Use]:
    found: list[Use] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Use(alias.name.split(".")[0], f"{path}:{node.lineno}", guarded))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(Use(node.module.split(".")[0], f"{path}:{node.lineno}", guarded))
        for child in ast.iter_child_nodes(node):
            inner = guarded
            if isinstance(node, ast.Try) and child in node.body and _catches_import_error(node):
                inner = True
            if isinstance(node, ast.If) and child in node.body and _is_type_checking(node):
                inner = True
            visit(child, inner)

    visit(ast.parse(path.read_text(), filename=str(path)), False)
    return found


def _third_party_uses() -> list[Use]:
    uses = [use for path in sorted(SRC.rglob("*.py")) for use in _uses(path)]
    return [u for u in uses if u.module not in sys.stdlib_module_names and u.module != "roost"]


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    required = {_normal(Requirement(r).name) for r in project["dependencies"]}
    extras = {
        _normal(Requirement(r).name): set()
        for reqs in project.get("optional-dependencies", {}).values()
        for r in reqs
    }
    for extra, reqs in project.get("optional-dependencies", {}).items():
        for r in reqs:
            extras[_normal(Requirement(r).name)].add(extra)
    return required, extras


def test_the_walk_sees_third_party_imports() -> None:
    # The walk itself must work, or the real test below would pass on nothing.
    modules = {u.module for u in _third_party_uses()}
    assert {"pydantic", "sqlalchemy", "yaml", "packaging", "etcd3gw"} <= modules
    assert "json" not in modules
    assert "roost" not in modules


def test_every_import_is_declared() -> None:
    required, extras = _declared()
    distributions = importlib.metadata.packages_distributions()
    problems: list[str] = []
    for use in _third_party_uses():
        names = {_normal(d) for d in distributions.get(use.module, [])}
        if not names:
            problems.append(f"{use.where}: {use.module} is not installed in the dev environment")
        elif names & required:
            continue
        elif names & extras.keys():
            if not use.guarded:
                extra = sorted(extras[sorted(names & extras.keys())[0]])
                problems.append(
                    f"{use.where}: {use.module} comes from the extra {extra}: import it inside "
                    "try/except ImportError with a message naming the extra"
                )
        else:
            problems.append(
                f"{use.where}: {use.module} (distribution {sorted(names)}) is not declared in "
                "[project].dependencies or an extra"
            )
    assert not problems, "\n".join(problems)


def test_a_guarded_extra_says_which_extra_to_install() -> None:
    # The guard's message must name the extra, or the user is left with "No module named …".
    for path, extra in (
        (SRC / "leases" / "etcd.py", "etcd"),
        (SRC / "leases" / "kubernetes.py", "kubernetes"),
    ):
        assert f"roost[{extra}]" in path.read_text(), path
