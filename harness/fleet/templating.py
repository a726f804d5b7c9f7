"""Placeholders in a service's ``command:``: ``{port}``, ``{host}`` and ``{calls.NAME}``.

Programs configured by flags rather than by environment (``flask run --port {port}``,
``--upstream {calls.store}``) need the port the harness assigned and their callees' URLs
(the edge's proxy, or the callee itself when the fleet runs unproxied) on the command line.
Only these exact forms are placeholders: any other brace (a JSON argument, a shell snippet
given to ``-c``) is left as written, so no escaping is ever needed. A ``{calls.NAME}``
naming no callee of the service is a manifest error (file, line and field), found before
anything starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["PLACEHOLDER", "render_command", "unknown_placeholders"]

PLACEHOLDER = re.compile(r"\{(port|host|calls\.([A-Za-z][A-Za-z0-9_.-]*))\}")


def unknown_placeholders(command: Sequence[str], callees: Iterable[str]) -> list[tuple[int, str]]:
    """``(argument index, why)`` for every ``{calls.NAME}`` whose NAME is not a callee."""
    known = set(callees)
    found: list[tuple[int, str]] = []
    for index, argument in enumerate(command):
        for match in PLACEHOLDER.finditer(argument):
            callee = match.group(2)
            if callee is not None and callee not in known:
                names = ", ".join(sorted(known)) or "none"
                found.append(
                    (
                        index,
                        f"{match.group(0)}: '{callee}' is not in this service's calls "
                        f"(calls: {names})",
                    )
                )
    return found


def render_command(
    command: Sequence[str], *, host: str, port: int, calls: Mapping[str, str]
) -> list[str]:
    """``command`` with every placeholder replaced (``calls``: callee name -> base URL)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "port":
            return str(port)
        if name == "host":
            return host
        return calls[match.group(2)]

    return [PLACEHOLDER.sub(value, argument) for argument in command]
