"""Fault classes: what the matrix does to an edge, as a small registry.

Each class builds a fault of :mod:`harness.faults` for one edge of a running fleet, from
the caller's timeout on that edge (the latency classes are set relative to it), and says
how the same fault is written in a game-day scenario (the reproduction of a broken cell).
A class is added with :func:`register` (a callee's container paused will be one, once the
container provider lands); nothing else in the matrix names a class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.faults.base import ReversibleFault
from harness.faults.edge import EdgeFaults

__all__ = [
    "ABOVE_FACTOR",
    "BELOW_FACTOR",
    "FaultClass",
    "fault_classes",
    "get",
    "register",
]

# Latency "above" the caller's timeout is 1.5x it (and at least 500 ms more), so a caller
# that honours its timeout gives up well before the answer comes; "below" is a fifth of it,
# which a caller with that timeout must absorb.
ABOVE_FACTOR = 1.5
BELOW_FACTOR = 0.2

Build = Callable[[EdgeFaults, float], ReversibleFault]
ScenarioFault = Callable[[str, float], dict[str, Any]]


@dataclass(frozen=True)
class FaultClass:
    name: str
    description: str
    build: Build  # (the edge's faults, the caller's timeout in s) -> an un-injected fault
    scenario: ScenarioFault  # (edge, timeout s) -> a scenario's `fault:` mapping

    def describe(self, timeout_s: float) -> str:
        return self.description.format(above=_above_ms(timeout_s), below=_below_ms(timeout_s))


_REGISTRY: dict[str, FaultClass] = {}


def register(fault_class: FaultClass) -> FaultClass:
    if fault_class.name in _REGISTRY:
        raise ValueError(f"fault class '{fault_class.name}' is registered already")
    _REGISTRY[fault_class.name] = fault_class
    return fault_class


def fault_classes() -> dict[str, FaultClass]:
    """Every registered class, in registration order (the matrix's column order)."""
    return dict(_REGISTRY)


def get(name: str) -> FaultClass:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise KeyError(f"unknown fault class '{name}' (fault classes: {known})") from None


def _above_ms(timeout_s: float) -> int:
    return int(max(timeout_s * 1000 * ABOVE_FACTOR, timeout_s * 1000 + 500))


def _below_ms(timeout_s: float) -> int:
    return max(1, int(timeout_s * 1000 * BELOW_FACTOR))


def _toxic(
    kind: str, attributes: Callable[[float], dict[str, int]], stream: str = "downstream"
) -> ScenarioFault:
    def write(edge: str, timeout_s: float) -> dict[str, Any]:
        return {
            "edge": edge,
            "toxic": kind,
            "stream": stream,
            "attributes": attributes(timeout_s),
        }

    return write


register(
    FaultClass(
        "latency_above",
        "{above} ms of latency, beyond the caller's timeout",
        lambda edge, t: edge.latency(_above_ms(t)),
        _toxic("latency", lambda t: {"latency": _above_ms(t)}),
    )
)
register(
    FaultClass(
        "latency_below",
        "{below} ms of latency, within the caller's timeout (must be harmless)",
        lambda edge, t: edge.latency(_below_ms(t)),
        _toxic("latency", lambda t: {"latency": _below_ms(t)}),
    )
)
register(
    FaultClass(
        "reset_peer",
        "every connection reset (TCP RST) as soon as the caller sends",
        # Upstream: the request is cut before the callee sees it (the caller must not
        # take the reset for success); a lost answer is the blackhole's case.
        lambda edge, t: edge.reset_peer(0, stream="upstream"),
        _toxic("reset_peer", lambda t: {"timeout": 0}, stream="upstream"),
    )
)
register(
    FaultClass(
        "blackhole",
        "data dropped and connections held open (timeout toxic, never closing)",
        lambda edge, t: edge.timeout(0),
        _toxic("timeout", lambda t: {"timeout": 0}),
    )
)
register(
    FaultClass(
        "down",
        "the edge down: its proxy disabled (connection refused)",
        lambda edge, t: edge.down(),
        lambda edge, t: {"edge": edge, "down": True},
    )
)
