"""Rollbacks that always run, and the proof that the fleet is as it was found.

Order: revert every fault still in place (newest first), then clean every proxy (no toxic,
enabled; with :class:`ProxyRecovery`'s escalation), then resume anything frozen (SIGCONT, or
``docker unpause``), put any container back on its network and start anything stopped,
awaiting each ready. The proof reads everything back: every proxy enabled without toxics,
every service and infra process running (not stopped or paused), every container on its
network and every service ready. Nothing here raises: each step is recorded with its
outcome, and the proof lists what could not be restored.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil

from harness.chaos.actions import process_of
from harness.faults.base import ReversibleFault
from harness.faults.recovery import RecoveryFailed, RecoveryStep
from harness.fleet.lifecycle import Fleet
from harness.infra.process import ManagedProcess

__all__ = ["Rollback", "RollbackReport", "RollbackStep"]


@dataclass(frozen=True)
class RollbackStep:
    action: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}


@dataclass
class RollbackReport:
    steps: list[RollbackStep] = field(default_factory=list)
    # What the proof found not restored (empty: the fleet is as it was found).
    not_restored: list[str] = field(default_factory=list)

    @property
    def restored(self) -> bool:
        return not self.not_restored

    def to_json(self) -> dict[str, Any]:
        return {
            "restored": self.restored,
            "not_restored": self.not_restored,
            "steps": [step.to_json() for step in self.steps],
        }


def _frozen(process: ManagedProcess) -> bool:
    paused = getattr(process, "paused", None)  # a container: Docker knows (cgroup freezer)
    if paused is not None:
        return bool(paused)
    if not process.running or process.pid is None:
        return False
    try:
        return psutil.Process(process.pid).status() == psutil.STATUS_STOPPED
    except psutil.Error:
        return False


class Rollback:
    """Collects the steps of one rollback."""

    def __init__(self, fleet: Fleet, on_step: Callable[[RollbackStep], None] | None = None):
        self.fleet = fleet
        self.report = RollbackReport()
        self.on_step = on_step

    def _do(self, action: str, call: Callable[[], Any]) -> Any:
        began = time.monotonic()
        try:
            value = call()
        except Exception as exc:  # recorded; the rollback goes on with the next step
            self._add(RollbackStep(action, False, f"{type(exc).__name__}: {exc}", _since(began)))
            return None
        self._add(RollbackStep(action, True, "", _since(began)))
        return value

    def _add(self, step: RollbackStep) -> None:
        self.report.steps.append(step)
        if self.on_step is not None:
            # A progress display that fails must not stop a rollback.
            with contextlib.suppress(Exception):
                self.on_step(step)

    def _recovery_steps(self, steps: Sequence[RecoveryStep]) -> None:
        # The escalation of a proxy restore shows as steps of its own, when there was one.
        if len(steps) > 2 or any(not step.ok for step in steps):
            for step in steps:
                self._add(RollbackStep(f"  {step.action}", step.ok, step.detail, step.seconds))

    def run(self, faults: Sequence[tuple[str, ReversibleFault]]) -> RollbackReport:
        for label, fault in reversed(faults):
            if fault.active:
                self._do(f"revert {label}", fault.revert)
                self._recovery_steps(getattr(fault, "revert_steps", []))
        if self.fleet.proxied:
            self._clean_proxies()
        for name in [*self.fleet.infra, *self.fleet.services]:
            self._restore_process(name)
        self.report.not_restored = self.prove()
        return self.report

    def _clean_proxies(self) -> None:
        recovery = self.fleet.proxy_recovery
        began = time.monotonic()
        try:
            steps = recovery.clean_all()
        except RecoveryFailed as exc:
            self._add(RollbackStep("clean every proxy", False, str(exc), _since(began)))
            self._recovery_steps(exc.steps)
            return
        self._add(RollbackStep("clean every proxy (no toxic, enabled)", True, "", _since(began)))
        if any(not step.ok for step in steps):
            self._recovery_steps(steps)

    def _restore_process(self, name: str) -> None:
        try:
            process, ready = process_of(self.fleet, name)
        except Exception:  # an external server: not ours to restore
            return
        if _frozen(process):
            self._do(f"resume {name} (SIGCONT)", process.resume)
        if _disconnected(process):
            self._do(f"connect {name} to its network again", process.connect)  # type: ignore[attr-defined]
            if process.running and ready is not None:
                self._do(f"await {name} ready", ready)
        if not process.running:
            self._do(f"start {name}", process.start)
            if ready is not None:
                self._do(f"await {name} ready", ready)

    def prove(self) -> list[str]:
        """What is not as it was found; empty when everything is."""
        problems: list[str] = []
        if self.fleet.proxied:
            for proxy, why in self.fleet.proxy_recovery.verify_all().items():
                problems.append(f"proxy {proxy}: {why}")
        for name in [*self.fleet.infra, *self.fleet.services]:
            try:
                process, _ = process_of(self.fleet, name)
            except Exception:
                continue
            if not process.running:
                problems.append(f"{name}: not running")
            elif _frozen(process):
                problems.append(f"{name}: stopped (SIGSTOP)")
            if _disconnected(process):
                problems.append(f"{name}: off its network")
        for name in self.fleet.services:
            if self.fleet.services[name].process.running:
                try:
                    self.fleet.wait_ready(name, timeout=10.0)
                except Exception as exc:
                    problems.append(f"{name}: not ready ({exc})".splitlines()[0])
        began = time.monotonic()
        self._add(
            RollbackStep(
                "prove: every proxy enabled without toxics, every process running and ready",
                not problems,
                "; ".join(problems),
                _since(began),
            )
        )
        return problems


def _disconnected(process: ManagedProcess) -> bool:
    return bool(getattr(process, "disconnected", False))  # only a container can be


def _since(began: float) -> float:
    return time.monotonic() - began
