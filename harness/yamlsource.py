"""Load a user's YAML file into a pydantic model, reporting faults as ``file:line: field: why``.

Every file a user writes (fleet manifest, load profile, chaos scenario) goes through
:func:`load_model`. We chose YAML over TOML for these files because PyYAML's composed nodes
carry a start mark for every key and value, so an error can name the line; ``tomllib``
returns plain dicts with no positions at all.

A model may add checks that need the whole document (an edge naming an unknown service, a
dependency cycle) by implementing :class:`CheckedSpec`: it returns :class:`Problem` values
whose ``loc`` is a path into the document, located on a line exactly like pydantic's own
errors.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import SpecError, SpecIssue

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """A fault found after structural validation, at ``loc`` in the document."""

    loc: Loc
    message: str


@runtime_checkable
class CheckedSpec(Protocol):
    """A model with whole-document checks that pydantic's per-field validation cannot do."""

    def problems(self) -> Iterable[Problem]: ...


class _LineIndex:
    """Line (1-based) of every key and value in a composed YAML document, by path."""

    def __init__(self) -> None:
        self.key_lines: dict[Loc, int] = {}
        self.value_lines: dict[Loc, int] = {}
        self.duplicates: list[tuple[Loc, int]] = []

    def walk(self, node: yaml.Node, loc: Loc = ()) -> None:
        self.value_lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                child = (*loc, key_node.value)
                if child in self.key_lines:
                    self.duplicates.append((child, key_node.start_mark.line + 1))
                    continue
                self.key_lines[child] = key_node.start_mark.line + 1
                self.walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, (*loc, index))

    def line(self, loc: Sequence[str | int]) -> int:
        """The key's line for ``loc``, else that of its nearest ancestor present in the file."""
        path = tuple(loc)
        while path:
            if path in self.key_lines:
                return self.key_lines[path]
            if path in self.value_lines:
                return self.value_lines[path]
            path = path[:-1]
        return self.value_lines.get((), 1)


def format_loc(loc: Sequence[str | int]) -> str:
    """``("services", "orders", "command", 0)`` -> ``services.orders.command[0]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type")
    loc = error.get("loc", ())
    last = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        return f"unknown field '{last}'"
    if kind == "missing":
        return f"missing required field '{last}'"
    message = str(error.get("msg", "invalid value"))
    # pydantic prefixes errors raised by our own validators; the user did not write Python.
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _compose(path: Path, error_type: type[SpecError]) -> tuple[Any, _LineIndex]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error_type([SpecIssue(str(path), 0, "", f"cannot read: {exc.strerror}")]) from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        reason = exc.problem or exc.context or "invalid YAML"
        raise error_type([SpecIssue(str(path), line, "", f"invalid YAML: {reason}")]) from exc
    except yaml.YAMLError as exc:
        raise error_type([SpecIssue(str(path), 0, "", f"invalid YAML: {exc}")]) from exc
    finally:
        loader.dispose()
    index = _LineIndex()
    if node is not None:
        index.walk(node)
    return data, index


def load_model(path: str | Path, model: type[M], *, error: type[SpecError] = SpecError) -> M:
    """Parse ``path`` as YAML and validate it as ``model``.

    Raises ``error`` (a :class:`SpecError` subclass) listing every fault with its line and
    field path: YAML syntax, duplicate keys, schema violations, then the model's own
    :class:`CheckedSpec` problems (only when the schema holds, as they assume it).
    """
    source = Path(path)
    data, index = _compose(source, error)
    file = str(source)
    if index.duplicates:
        raise error(
            [
                SpecIssue(file, line, format_loc(loc), f"duplicate key '{loc[-1]}'")
                for loc, line in index.duplicates
            ]
        )
    if not isinstance(data, dict):
        raise error([SpecIssue(file, index.line(()), "", "expected a mapping at the top level")])
    token = _validating_dir.set(source.resolve().parent)
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        issues = []
        for item in exc.errors():
            # A "missing" field has no line of its own; index.line falls back to its parent.
            loc: Loc = tuple(item["loc"])
            issues.append(SpecIssue(file, index.line(loc), format_loc(loc), _message(item)))
        raise error(issues) from None
    finally:
        _validating_dir.reset(token)
    if isinstance(result, CheckedSpec):
        found = [
            SpecIssue(file, index.line(p.loc), format_loc(p.loc), p.message)
            for p in result.problems()
        ]
        if found:
            raise error(sorted(found, key=lambda issue: issue.line))
    return result


# Set by load_model while a file's model is validated: relative paths written in the file
# (a profile's locustfile, a scenario's load profile) resolve against its directory.
_validating_dir: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "validating_dir", default=None
)


def file_beside(value: str, what: str = "file") -> str:
    """``value`` resolved against the directory of the file :func:`load_model` is
    validating, and checked to exist (a ``ValueError`` naming ``what`` otherwise); left as
    it is when a model is validated from data, not from a file."""
    base = _validating_dir.get()
    if base is None:
        return value
    path = base / value
    if not path.is_file():
        raise ValueError(f"no such {what}: {path}")
    return str(path.resolve())


def line_index(path: str | Path) -> _LineIndex:
    """The lines of every key in a file already validated once, for checks made later
    (e.g. names a scenario uses that only the fleet can judge)."""
    _, index = _compose(Path(path), SpecError)
    return index
