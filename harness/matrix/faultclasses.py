"""Fault classes: what the matrix does to an edge, as a small registry.

Each class builds a fault of :mod:`harness.faults` for one edge of a running fleet, from
the caller's timeout on that edge (the latency classes are set relative to it), and says
how the same fault is written in a game-day scenario (the reproduction of a broken cell).
A class is added with :func:`register`; nothing else in the matrix names a class.

Most classes act on the edge's proxy. ``container_paused`` acts on the callee itself: it
freezes the callee's container (``docker pause``, the cgroup freezer), so its connections
stay open and nothing answers, on that edge and on every other way into the callee. It
applies to an HTTP edge whose callee runs as a container (``--fleet-backend docker``); on a
fleet of processes, or on a database or broker edge, its cell is skipped with the reason
(:meth:`FaultClass.skip_reason`). Its revert unpauses the container and verifies it: the
engine no longer says paused and the callee answers its readiness probe again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import FleetError
from harness.faults.base import ReversibleFault
from harness.faults.edge import EdgeFaults
from harness.fleet.graph import Edge, EdgeKind
from harness.fleet.lifecycle import Fleet

__all__ = [
    "ABOVE_FACTOR",
    "BELOW_FACTOR",
    "CONTAINER_PAUSED",
    "FaultClass",
    "PausedCallee",
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
# (the running fleet, the edge, the caller's timeout in s) -> an un-injected fault
FleetBuild = Callable[[Fleet, Edge, float], ReversibleFault]
# (the running fleet, the edge) -> why the class does not apply there; None: it applies
SkipReason = Callable[[Fleet, Edge], str | None]


@dataclass(frozen=True)
class FaultClass:
    name: str
    description: str
    build: Build  # (the edge's faults, the caller's timeout in s) -> an un-injected fault
    scenario: ScenarioFault  # (edge, timeout s) -> a scenario's `fault:` mapping
    # A class that acts on the fleet rather than the edge's proxy (the callee's container):
    # it builds from the fleet, and may not apply to every edge of every fleet.
    build_on_fleet: FleetBuild | None = None
    applies: SkipReason | None = None
    containers: bool = False  # its reproduction needs the services as containers

    def describe(self, timeout_s: float) -> str:
        return self.description.format(above=_above_ms(timeout_s), below=_below_ms(timeout_s))

    def skip_reason(self, fleet: Fleet, edge: Edge) -> str | None:
        """Why this class has no cell on ``edge`` of ``fleet`` (None: it has one)."""
        return self.applies(fleet, edge) if self.applies is not None else None

    @property
    def on_proxy(self) -> bool:
        """Whether the fault is on the edge's proxy (cleaned by ``fleet.clear_edge``)."""
        return self.build_on_fleet is None

    def make(self, fleet: Fleet, edge: Edge, timeout_s: float) -> ReversibleFault:
        if self.build_on_fleet is not None:
            return self.build_on_fleet(fleet, edge, timeout_s)
        return self.build(fleet.edge(edge.name), timeout_s)


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


# --- the callee's container paused ---------------------------------------------------------

CONTAINER_PAUSED = "container_paused"
_READY_AFTER_UNPAUSE = 30.0


class PausedCallee(ReversibleFault):
    """``docker pause`` of the callee's container; revert unpauses it and verifies: the
    engine says it is no longer paused, and the callee answers its readiness probe."""

    def __init__(self, fleet: Fleet, service: str) -> None:
        super().__init__()
        # Imported here: the Docker SDK, which a fleet of processes never needs.
        from harness.faults.container import container_pause
        from harness.fleet.containers import container_of

        self.fleet = fleet
        self.service = service
        self.container = container_of(fleet, service)
        self.pause = container_pause(self.container)
        self.description = self.pause.description

    def _inject(self) -> None:
        self.pause.inject()

    def _revert(self) -> None:
        self.pause.revert()
        if self.container.paused:  # read afresh: every docker call forgets the cached state
            raise FleetError(f"{self.service}: still paused after docker unpause")
        if not self.container.running:
            raise FleetError(f"{self.service}: not running after docker unpause")
        self.fleet.wait_ready(self.service, timeout=_READY_AFTER_UNPAUSE)


def _paused_applies(fleet: Fleet, edge: Edge) -> str | None:
    if edge.kind is not EdgeKind.HTTP:
        # The docker provider's servers have no pause the rollback knows and proves; the
        # database and broker edges keep their proxy faults.
        return f"not applicable: the callee of a {edge.kind.value} edge is no service container"
    if fleet.containers is None:
        return (
            "not applicable: the fleet runs its services as processes "
            "(container faults need --fleet-backend docker)"
        )
    return None


def _no_proxy_build(edge: EdgeFaults, timeout_s: float) -> ReversibleFault:
    raise FleetError(f"{CONTAINER_PAUSED} acts on the callee's container, not on a proxy")


register(
    FaultClass(
        CONTAINER_PAUSED,
        "the callee's container paused (docker pause: connections open, nothing answers)",
        _no_proxy_build,
        lambda edge, t: {"container": edge.split("->", 1)[1], "action": "pause"},
        build_on_fleet=lambda fleet, edge, t: PausedCallee(fleet, edge.target),
        applies=_paused_applies,
        containers=True,
    )
)
