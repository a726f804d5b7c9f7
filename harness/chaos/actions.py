"""A scenario's fault actions made into faults of :mod:`harness.faults` on a running fleet.

Edge faults go through the fleet's proxies (and its :class:`ProxyRecovery`); process faults
act on a service's or an infrastructure server's :class:`ManagedProcess`, and wait for it to
be ready again when they start it; container faults (stop, pause, disconnect) act on a
service's container when the fleet runs them (:mod:`harness.faults.container`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.chaos.scenario import Action, Burst, FaultSpec
from harness.errors import FleetError
from harness.faults.base import ReversibleFault
from harness.faults.process import Kill, Pause, Restart, Stop
from harness.faults.toxics import parse_toxic
from harness.fleet.lifecycle import Fleet
from harness.infra.process import ManagedProcess

__all__ = ["ActionRecord", "BurstFault", "Send", "Start", "build_fault", "process_of"]


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


Send = Callable[[], httpx.Response]


class BurstFault(ReversibleFault):
    """A traffic spike: ``concurrency`` threads send requests back to back until reverted.
    It counts the answers by status, and the 5xx, connection failures and the throttling
    answers without a Retry-After header."""

    def __init__(self, spec: Burst, send: Send) -> None:
        super().__init__()
        self.spec = spec
        self.send = send
        self.description = f"burst x{spec.concurrency}"
        self.statuses: Counter[int] = Counter()
        self.failures: Counter[str] = Counter()
        self.missing_retry_after = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _inject(self) -> None:
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._work, name=f"burst-{i}", daemon=True)
            for i in range(self.spec.concurrency)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                response = self.send()
            except httpx.HTTPError as exc:
                with self._lock:
                    self.failures[type(exc).__name__] += 1
                continue
            with self._lock:
                self.statuses[response.status_code] += 1
                if (
                    response.status_code in self.spec.retry_after_on
                    and "retry-after" not in response.headers
                ):
                    self.missing_retry_after += 1

    def _revert(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def problems(self) -> list[str]:
        found = []
        unexpected = {s: n for s, n in self.statuses.items() if s not in self.spec.allowed_status}
        if unexpected:
            found.append(f"unexpected statuses {dict(sorted(unexpected.items()))}")
        if self.failures:
            found.append(f"failed requests {dict(self.failures)}")
        if self.missing_retry_after:
            found.append(f"{self.missing_retry_after} throttled answers without Retry-After")
        total = sum(self.statuses.values())
        if not total:
            found.append("the burst got no answer at all")
        elif self.statuses[429] / total < self.spec.throttled_at_least:
            share = self.statuses[429] / total
            found.append(
                f"only {share:.0%} of the answers were 429 "
                f"(expected at least {self.spec.throttled_at_least:.0%})"
            )
        return found

    def summary(self) -> str:
        return f"statuses {dict(sorted(self.statuses.items()))}"


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


def build_fault(
    fleet: Fleet, spec: FaultSpec, send: Callable[[Burst], Send] | None = None
) -> ReversibleFault:
    if spec.burst is not None:
        if send is None:
            raise FleetError("a burst needs an HTTP sender")
        return BurstFault(spec.burst, send(spec.burst))
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
    if spec.container is not None:
        return _container_fault(fleet, spec.container, spec.action)
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


def _container_fault(fleet: Fleet, name: str, action: str | None) -> ReversibleFault:
    # Imported here: they bring the Docker SDK, which a fleet of processes never needs.
    from harness.faults.container import Disconnect, container_pause, container_stop
    from harness.fleet.containers import container_of

    container = container_of(fleet, name)
    ready = lambda: fleet.wait_ready(name)  # noqa: E731
    if action == "stop":
        return container_stop(container, ready=ready)
    if action == "pause":
        return container_pause(container)
    if action == "disconnect":
        return Disconnect(container, ready=ready)
    raise FleetError(f"no container action '{action}' (stop, pause, disconnect)")


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
