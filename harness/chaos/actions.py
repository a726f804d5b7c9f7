"""A scenario's fault actions made into faults of :mod:`harness.faults` on a running fleet.

Edge faults go through the fleet's proxies (and its :class:`ProxyRecovery`); process faults
act on a service's or an infrastructure server's :class:`ManagedProcess`, and wait for it to
be ready again when they start it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.chaos.scenario import Action, FaultSpec
from harness.errors import FleetError
from harness.faults.base import ReversibleFault
from harness.faults.process import Kill, Pause, Restart, Stop
from harness.faults.toxics import parse_toxic
from harness.fleet.lifecycle import Fleet
from harness.infra.process import ManagedProcess


class Start(ReversibleFault):
    """Start a stopped process and await it; a start has nothing to revert."""

    def __init__(self, process: ManagedProcess, ready: Callable[[], None] | None) -> None:
        super().__init__()
        self.process = process
        self.ready = ready
        self.description = f"start {process.name}"

    def _inject(self) -> None:
        if not self.process.running:
            self.process.start()
        if self.ready is not None:
            self.ready()

    def _revert(self) -> None:
        """Nothing to undo."""


def process_of(fleet: Fleet, name: str) -> tuple[ManagedProcess, Callable[[], None] | None]:
    """The process behind a service or an infra server, and how to await it."""
    if name in fleet.services:
        return fleet.services[name].process, lambda: fleet.wait_ready(name)
    server = fleet.infra.get(name)
    process = getattr(server, "process", None)
    if not isinstance(process, ManagedProcess):
        raise FleetError(f"'{name}' has no process the harness owns (an external server?)")
    wait_ready = getattr(server, "wait_ready", None)
    return process, (wait_ready if callable(wait_ready) else None)


def build_fault(fleet: Fleet, spec: FaultSpec) -> ReversibleFault:
    if spec.edge is not None:
        faults = fleet.edge(spec.edge)
        if spec.down:
            return faults.down()
        toxic = parse_toxic(
            {
                "type": spec.toxic,
                "stream": spec.stream,
                "toxicity": spec.toxicity,
                "attributes": spec.attributes,
            },
            strict=True,
        )
        return faults.toxic(toxic)
    assert spec.service is not None
    process, ready = process_of(fleet, spec.service)
    if spec.action == "kill":
        return Kill(process, ready=ready)
    if spec.action == "stop":
        return Stop(process, ready=ready)
    if spec.action == "pause":
        return Pause(process)
    if spec.action == "restart":
        return Restart(process, ready=ready)
    return Start(process, ready)


@dataclass
class ActionRecord:
    """What happened to one action of the method (times in seconds since the method began)."""

    index: int
    label: str
    planned_start_s: float
    planned_end_s: float | None
    started_s: float | None = None
    active_s: float | None = None  # the fault in place (the inject call returned)
    ended_s: float | None = None
    error: str | None = None
    revert_steps: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, index: int, action: Action) -> ActionRecord:
        end = action.end if action.duration is not None else None
        return cls(index, action.label, action.at, end)

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}
