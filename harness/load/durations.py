"""Durations as users write them in profiles: ``30s``, ``2m``, ``1m30s``, ``500ms``, ``1h``.

A bare number means seconds. k6 and Locust both accept this shape, so a profile reads the
same to someone who knows either tool.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$")


def parse_duration(value: object) -> float:
    """Seconds in ``value`` (``"1m30s"`` -> 90.0); ValueError names the accepted forms."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 2m or 1m30s")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _WHOLE.match(value.strip().replace(" ", "")):
        text = value.strip().replace(" ", "")
        seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(text))
    else:
        raise ValueError(f"'{value}' is not a duration: write e.g. 30s, 2m, 1m30s or 500ms")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def format_duration(seconds: float) -> str:
    """``90.0`` -> ``"1m30s"``; sub-second values keep milliseconds."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs or not text else "")


# A pydantic field type: accepts "30s" or a number, holds seconds, prints back as text.
Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h))+$"},
                {"type": "number", "minimum": 0},
            ],
            "description": "seconds, or a duration such as 30s, 2m, 1m30s, 500ms",
        }
    ),
]
