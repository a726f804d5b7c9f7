"""Readable failures: pact's verification JSON turned into type, path, expected and actual.

pact-python's ``Verifier.verify()`` raises a bare RuntimeError; what went wrong is in
``Verifier.results`` (``interactionResults[].mismatch``). These functions turn one entry
into :class:`Mismatch` values and a report a person can act on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_MAX_VALUE = 300


@dataclass(frozen=True)
class Mismatch:
    """One difference between what the consumer expects and what the provider did."""

    type: str
    path: str
    expected: Any
    actual: Any
    message: str

    def render(self) -> str:
        lines = [f"{self.type} at {self.path}" if self.path else self.type]
        if self.message:
            lines.append(f"  {self.message}")
        if self.expected is not None or self.actual is not None:
            lines.append(f"  expected: {_show(self.expected)}")
            lines.append(f"  actual:   {_show(self.actual)}")
        return "\n".join(lines)


def _show(value: Any) -> str:
    text: str
    if isinstance(value, str):
        # pact reports JSON values as JSON text; show them as such, not double-quoted.
        try:
            parsed = json.loads(value)
        except ValueError:
            text = value
        else:
            text = json.dumps(parsed, sort_keys=True)
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    if text == "":
        return "(nothing)"
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def _path(entry: Mapping[str, Any]) -> str:
    if entry.get("path"):
        return str(entry["path"])
    key = entry.get("key")
    kind = str(entry.get("type", ""))
    if key is not None:
        prefix = "metadata" if kind.startswith("Metadata") else "header"
        return f"{prefix} {key}"
    if kind == "StatusMismatch":
        return "status"
    return ""


def parse_mismatches(result: Mapping[str, Any]) -> tuple[list[Mismatch], list[str]]:
    """The mismatches and the plain errors of one ``interactionResults`` entry."""
    block = result.get("mismatch") or {}
    if not isinstance(block, Mapping):
        return [], [str(block)]
    errors: list[str] = []
    if block.get("type") == "error" and block.get("message"):
        errors.append(str(block["message"]))
    found = [
        Mismatch(
            type=str(entry.get("type", "Mismatch")),
            path=_path(entry),
            expected=entry.get("expected"),
            actual=entry.get("actual"),
            message=str(entry.get("mismatch", "")),
        )
        for entry in block.get("mismatches") or []
        if isinstance(entry, Mapping)
    ]
    return found, errors


def render_failure(
    title: str,
    *,
    states: Iterable[str],
    request: str,
    mismatches: Iterable[Mismatch],
    errors: Iterable[str],
) -> str:
    """The text of a failed interaction, most specific cause first."""
    lines = [title]
    for state in states:
        lines.append(f"  given {state}")
    if request:
        lines.append(f"  {request}")
    for error in errors:
        lines.append(f"  error: {error}")
    for number, mismatch in enumerate(mismatches, 1):
        body = mismatch.render().replace("\n", "\n     ")
        lines.append(f"  {number}) {body}")
    return "\n".join(lines)
