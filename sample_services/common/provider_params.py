"""Reading the `params` of a provider state (test hooks): checked, or a 400 `bad_state_params`.

Pact sends params as JSON, and some consumers write numbers as strings.
"""

from __future__ import annotations

import re
from typing import Any

from sample_services.common.problems import ProblemError


def identifier(
    params: dict[str, Any],
    name: str,
    default: str | None = None,
    *,
    pattern: str,
    max_length: int,
) -> str:
    """`params[name]` (or `default`): a string of at most `max_length` matching `pattern`."""
    value = params.get(name, default)
    if not isinstance(value, str) or len(value) > max_length or not re.fullmatch(pattern, value):
        raise ProblemError(400, "bad_state_params", f"param {name!r} must be an identifier")
    return value


def integer(
    params: dict[str, Any], name: str, default: int | None = None, *, minimum: int = 0
) -> int:
    """`params[name]` (or `default`): an integer in [minimum, 10**12], or digits that spell one."""
    value = params.get(name, default)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum or value > 10**12:
        raise ProblemError(
            400, "bad_state_params", f"param {name!r} must be an integer in [{minimum}, 10**12]"
        )
    return value
