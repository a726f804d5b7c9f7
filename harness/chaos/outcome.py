"""Verdicts of a game-day and the result every adapter reads (the exit code of each verdict
is the CLI's business: harness.cli.exits, 0 / 20 / 21 / 22 / 1).

passed: the hypothesis held before, during and after, and the fleet was restored.
deviated: a check failed during the method, or the steady state did not come back within
the recovery bound.
aborted: an abort condition fired or the game-day ran past its maximum duration.
not-steady: the steady state did not hold before any fault: nothing was injected.
error: the game-day could not be run as written (the fleet did not start, a fault could
not be injected, nothing was checked), or the rollbacks could not restore the fleet.
Bad input raises harness.chaos.errors.ScenarioError before anything starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from harness.chaos.actions import ActionRecord
from harness.chaos.checks import CheckResult
from harness.chaos.rollback import RollbackReport

__all__ = ["GameDayResult", "Verdict", "decide"]


class Verdict(Enum):
    PASSED = "passed"
    DEVIATED = "deviated"
    ABORTED = "aborted"
    NOT_STEADY = "not-steady"
    ERROR = "error"


@dataclass
class GameDayResult:
    scenario: str
    path: str | None
    verdict: Verdict
    reason: str
    checks: list[CheckResult] = field(default_factory=list)
    actions: list[ActionRecord] = field(default_factory=list)
    rollback: RollbackReport = field(default_factory=RollbackReport)
    load: dict[str, Any] | None = None
    abort: dict[str, Any] | None = None
    recovered_after_s: float | None = None
    started_at: float = 0.0
    method_started_at: float | None = None
    ended_at: float = 0.0
    logs: str | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    scenario_data: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASSED

    def failed_checks(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.ok]

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "path": self.path,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "started_at": self.started_at,
            "method_started_at": self.method_started_at,
            "ended_at": self.ended_at,
            "recovered_after_s": self.recovered_after_s,
            "abort": self.abort,
            "actions": [action.to_json() for action in self.actions],
            "checks": [check.to_json() for check in self.checks],
            "load": self.load,
            "rollback": self.rollback.to_json(),
            "logs": self.logs,
            "artifacts": self.artifacts,
            "definition": self.scenario_data,
        }


def decide(
    checks: list[CheckResult],
    *,
    aborted: str | None,
    error: str | None,
    rollback: RollbackReport,
    recovered: bool,
) -> tuple[Verdict, str]:
    """The verdict and a one-line reason, from everything the game-day saw."""
    if not rollback.restored:
        return Verdict.ERROR, "not restored: " + "; ".join(rollback.not_restored)
    if error is not None:
        return Verdict.ERROR, error
    before = [c for c in checks if c.phase == "before" and not c.ok]
    if before:
        return Verdict.NOT_STEADY, f"{len(before)} check(s) failed before any fault: " + str(
            before[0]
        )
    if aborted is not None:
        return Verdict.ABORTED, aborted
    if not any(check.ok for check in checks):
        return Verdict.ERROR, "nothing was checked: the hypothesis made no passing check"
    failed = [c for c in checks if not c.ok]
    if failed:
        return Verdict.DEVIATED, f"{len(failed)} check(s) failed; first: {failed[0]}"
    if not recovered:
        return Verdict.DEVIATED, "the steady state did not come back within the recovery bound"
    return Verdict.PASSED, f"{len(checks)} checks held before, during and after the faults"
