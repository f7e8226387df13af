"""YAML text → plain data, keeping where every value came from.

PyYAML's ``safe_load`` throws positions away and silently keeps the last of two equal keys. We
compose the node graph instead (nodes carry marks), build the plain data ourselves from it, and
keep an index from each mapping node to its ``key → (key node, value node)`` entries so that a
pydantic error location can be walked back to a line and column.

Anchors and aliases share nodes, so each node is converted once and the index stays linear in
the size of the text even for "billion laughs" documents. Merge keys (``<<: *base``) work as in
YAML 1.1: explicit keys win over merged ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from roost.spec._issues import KEY
from roost.spec.fields import describe

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Located:
    """A raw problem found while reading YAML: 1-based position, message and hint."""

    line: int
    column: int
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class Position:
    """Where a location resolved to: 1-based line/column and the part of the location that
    exists in the document (the rest named union members, validators or a missing key)."""

    line: int
    column: int
    found: tuple[str | int, ...]


def _at(node: Node, message: str, hint: str | None = None) -> Located:
    return Located(node.start_mark.line + 1, node.start_mark.column + 1, message, hint)


@dataclass
class Document:
    """A composed YAML document: its plain data, and positions for locations in it."""

    data: Any
    root: Node | None
    problems: list[Located] = field(default_factory=list)
    entries: dict[int, dict[str, tuple[Node, Node]]] = field(default_factory=dict)

    def locate(self, loc: Sequence[str | int]) -> Position:
        """The position of the most specific node that exists along ``loc``.

        Segments that do not exist in the document are skipped: pydantic puts union tags and
        validator names into locations, and a missing key does not exist by definition (its
        parent mapping is the most specific node). A final :data:`KEY` segment selects the key
        node of the last mapping entry instead of its value; an empty value (``port:``) is
        reported at its key too, because the mark of "nothing" is wherever the next token is.
        """
        if self.root is None:
            return Position(1, 1, ())
        node, key_node = self.root, None
        found: list[str | int] = []
        for segment in loc:
            if isinstance(node, MappingNode) and isinstance(segment, str):
                entry = self.entries.get(id(node), {}).get(segment)
                if entry is not None:
                    key_node, node = entry
                    found.append(segment)
                    continue
            elif (
                isinstance(node, SequenceNode)
                and isinstance(segment, int)
                and 0 <= segment < len(node.value)
            ):
                node, key_node = node.value[segment], None
                found.append(segment)
                continue
        use_key = key_node is not None and (
            (loc and loc[-1] == KEY)
            or (isinstance(node, ScalarNode) and node.value == "" and not node.style)
        )
        mark = key_node.start_mark if use_key and key_node is not None else node.start_mark
        return Position(mark.line + 1, mark.column + 1, tuple(found))


class _Builder:
    def __init__(self, document: Document) -> None:
        self.document = document
        self.done: dict[int, Any] = {}
        self.in_progress: set[int] = set()
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used

    def value(self, node: Node) -> Any:
        if id(node) in self.done:
            return self.done[id(node)]
        if id(node) in self.in_progress:
            self.document.problems.append(_at(node, "an alias refers to itself"))
            return None
        self.in_progress.add(id(node))
        try:
            if isinstance(node, MappingNode):
                result: Any = self.mapping(node)
            elif isinstance(node, SequenceNode):
                self.check_tag(node, _SEQ)
                result = [self.value(item) for item in node.value]
            else:
                result = self.scalar(node)
        finally:
            self.in_progress.discard(id(node))
        self.done[id(node)] = result
        return result

    def check_tag(self, node: Node, expected: str) -> None:
        if node.tag != expected:
            self.document.problems.append(_unsupported_tag(node))

    def scalar(self, node: Node) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as err:
            problem, hint = err.problem or "cannot read this value", "quote it to make it text"
        except Exception:  # PyYAML constructors raise whatever they hit (`!!int x`)
            problem = f"cannot read {describe(node.value)} as {_short_tag(node)}"
            hint = "fix it, or quote it to make it text"
        if problem.startswith("could not determine a constructor"):
            self.document.problems.append(_unsupported_tag(node))
        else:
            self.document.problems.append(_at(node, problem, hint))
        return None

    def mapping(self, node: MappingNode) -> dict[str, Any]:
        self.check_tag(node, _MAP)
        explicit: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for source in self.merge_sources(value_node):
                    self.value(source)
                    for name, entry in self.document.entries.get(id(source), {}).items():
                        merged.setdefault(name, entry)
                continue
            if not isinstance(key_node, ScalarNode):
                self.document.problems.append(
                    _at(key_node, "a mapping key must be plain text", hint="use a simple key")
                )
                continue
            # The key as written: `on:` or `1:` is a field name, not a bool or an int.
            name = str(key_node.value)
            if name in explicit:
                first = explicit[name][0].start_mark.line + 1
                self.document.problems.append(
                    _at(key_node, f'duplicate key "{name}"', hint=f"first defined on line {first}")
                )
            explicit[name] = (key_node, value_node)
        entries = {**{k: v for k, v in merged.items() if k not in explicit}, **explicit}
        self.document.entries[id(node)] = entries
        return {name: self.value(value_node) for name, (_, value_node) in entries.items()}

    def merge_sources(self, node: Node) -> list[Node]:
        if isinstance(node, MappingNode):
            return [node]
        if isinstance(node, SequenceNode) and all(isinstance(n, MappingNode) for n in node.value):
            return list(node.value)
        self.document.problems.append(
            _at(node, "<< must merge a mapping or a list of mappings", hint="e.g. `<<: *base`")
        )
        return []


def _short_tag(node: Node) -> str:
    tag = str(node.tag)
    if tag.startswith("tag:yaml.org,2002:"):
        tag = "!!" + tag.removeprefix("tag:yaml.org,2002:")
    return tag


def _unsupported_tag(node: Node) -> Located:
    message = f"unsupported YAML tag {_short_tag(node)}"
    return _at(node, message, hint="roost.yaml is plain YAML: remove the tag")


def compose(text: str) -> Document:
    """Compose ``text``; YAML-level problems (syntax, duplicate keys, tags) are in ``problems``.

    ``root`` is ``None`` when there is no document (empty text) or the YAML is malformed; the
    problems then say which.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        return Document(None, None, [_syntax_problem(err)])
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        code = err.character if isinstance(err.character, int) else ord(err.character)
        message = f"invalid character U+{code:04X}"
        return Document(None, None, [Located(line, column, message, "a roost.yaml is UTF-8 text")])
    except yaml.YAMLError as err:
        return Document(None, None, [Located(1, 1, f"invalid YAML: {err}")])
    document = Document(None, root)
    if root is not None:
        document.data = _Builder(document).value(root)
    return document


def _syntax_problem(err: yaml.MarkedYAMLError) -> Located:
    mark = err.problem_mark or err.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = err.problem or "malformed YAML"
    if "'\\t'" in problem or "\t" in problem:
        hint = "indent with spaces; YAML does not allow tabs"
    elif "document" in problem and "single document" in str(err.context):
        hint = "a roost.yaml holds one document: remove the extra ---"
    elif err.context and err.context_mark is not None:
        hint = f"{err.context} on line {err.context_mark.line + 1}; check the indentation"
    else:
        hint = "check the indentation and quote values that contain ': ' or start with a symbol"
    return Located(line, column, f"invalid YAML: {problem}", hint)
