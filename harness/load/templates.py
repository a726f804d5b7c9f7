"""``{name}`` placeholders in the strings of a declarative request.

Paths, headers, query values and every string inside a JSON body may name a variable:
``/api/orders/{last_order_id}``. A string that is exactly one placeholder is replaced by
the value itself, keeping its type (``quantity: "{qty}"`` with ``qty: 3`` sends the number
3); inside a longer string the value is formatted. ``{{`` and ``}}`` are literal braces.

Built-in variables: ``run_id`` (one per run), ``user_id`` (one per simulated user),
``uuid`` (a fresh one each time it is rendered).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

BUILTINS = ("run_id", "user_id", "uuid")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ONLY = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class MissingVariable(KeyError):
    """A placeholder names a variable that has no value (yet)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def names(value: Any) -> set[str]:
    """Every variable ``value`` (a string, or lists/dicts of them) refers to."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(m.group(1) for m in _PLACEHOLDER.finditer(value) if m.group(1))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            found |= names(key) | names(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= names(item)
    return found


def _lookup(name: str, variables: Mapping[str, Any]) -> Any:
    if name == "uuid":
        return str(uuid.uuid4())
    if name not in variables:
        raise MissingVariable(name)
    return variables[name]


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """``value`` with every placeholder replaced; :class:`MissingVariable` if one has none."""
    if isinstance(value, str):
        whole = _ONLY.match(value)
        if whole:
            return _lookup(whole.group(1), variables)

        def replace(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return match.group(0)[0]
            return str(_lookup(match.group(1), variables))

        return _PLACEHOLDER.sub(replace, value)
    if isinstance(value, Mapping):
        return {render(k, variables): render(v, variables) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(item, variables) for item in value]
    return value


def extract(body: Any, path: str) -> Any:
    """The value at a dotted ``path`` in a decoded JSON body (``items.0.sku``); KeyError if none."""
    current = body
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise KeyError(path)
    return current
