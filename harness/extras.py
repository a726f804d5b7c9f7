"""Which optional dependencies (pip extras) each capability needs, checked without importing.

``pip install harness`` gives the fleet, the faults and the CLI; ``harness[contracts]``,
``harness[fuzz]`` and ``harness[load]`` add what each capability drives (``harness[chaos]``
is load's: a game-day runs a load underneath and plots it). The adapters call
:func:`require` before they import a capability, so a missing extra is one clear line
rather than an ImportError from deep inside.
"""

from __future__ import annotations

from importlib.util import find_spec

from harness.errors import InputError

__all__ = ["EXTRAS", "MissingExtraError", "missing", "require"]

EXTRAS: dict[str, tuple[str, ...]] = {
    "contracts": ("pact",),
    "fuzz": ("schemathesis", "hypothesis"),
    "load": ("locust", "matplotlib"),
    # A game-day runs a load profile underneath and plots its timeline: load's modules.
    "chaos": ("locust", "matplotlib"),
}


class MissingExtraError(InputError):
    """A capability was asked for but its extra is not installed."""


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be found."""
    return [name for name in EXTRAS[extra] if find_spec(name) is None]


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtraError` naming the pip command when ``extra`` is missing."""
    absent = missing(extra)
    if absent:
        raise MissingExtraError(
            f"{what} needs the {extra} extra: pip install 'harness[{extra}]' "
            f"(missing: {', '.join(absent)})"
        )
