"""A cell's status, the matrix's result, its resilience coverage and the change against a
baseline (the previous run's JSON).

Statuses: ``held`` (every check that passed clean passed), ``degraded`` (the declared
degraded answer held under the fault), ``failed`` (a declared failure, with its status),
``broken`` (a check that passed clean failed, or the declared answer did not come, or the
fleet did not recover), ``skipped`` (not run: pruned, or an error before the fault).
A cell is *as expected* when its status is what the expectations file declares (an
undeclared cell: held). Resilience coverage = cells held or degraded as expected / cells
run, per service (the caller of the edge) and overall.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.matrix.workload import CheckOutcome

__all__ = ["Cell", "CellResult", "Coverage", "MatrixResult", "Status", "coverage_delta"]


class Status(StrEnum):
    HELD = "held"
    DEGRADED = "degraded"
    FAILED = "failed"
    BROKEN = "broken"
    SKIPPED = "skipped"


_EXPECTED_STATUS = {"hold": Status.HELD, "degrade": Status.DEGRADED, "fail": Status.FAILED}


@dataclass(frozen=True)
class Cell:
    edge: str
    fault: str

    @property
    def id(self) -> str:
        return f"{self.edge} x {self.fault}"

    @property
    def caller(self) -> str:
        return self.edge.split("->", 1)[0]


@dataclass
class CellResult:
    cell: Cell
    status: Status
    expected: str | None  # the expectation's label; None: undeclared (judged by the oracle)
    fault: str = ""  # what was injected, in words
    reason: str = ""
    findings: list[CheckOutcome] = field(default_factory=list)  # passed clean, failed here
    answer: str | None = None  # the declared answer's check, when there was one
    recovered_after_s: float | None = None
    revert_steps: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    request_ids: list[str] = field(default_factory=list)
    scenario: str | None = None  # the generated game-day reproducing a broken cell
    error: bool = False  # could not be run (the fault not injected, ...): fails the run
    throttled: int = 0  # 429s from the fleet's rate limit waited out (the client's pace)

    @property
    def expected_status(self) -> Status:
        if self.expected is None:
            return Status.HELD
        return _EXPECTED_STATUS[self.expected.split(" ", 1)[0]]

    @property
    def ran(self) -> bool:
        return self.status is not Status.SKIPPED

    @property
    def as_expected(self) -> bool:
        return self.ran and self.status is self.expected_status

    @property
    def changed(self) -> bool:
        """Ran and differs from its expectation: this fails the run (a regression gate)."""
        return self.ran and not self.as_expected

    @property
    def resilient(self) -> bool:
        """Counts towards the coverage: held or degraded, as expected."""
        return self.as_expected and self.status in (Status.HELD, Status.DEGRADED)

    def to_json(self) -> dict[str, Any]:
        return {
            "edge": self.cell.edge,
            "fault": self.cell.fault,
            "status": self.status.value,
            "expected": self.expected,
            "as_expected": self.as_expected,
            "fault_injected": self.fault,
            "reason": self.reason,
            "findings": [f.to_json() for f in self.findings],
            "answer": self.answer,
            "recovered_after_s": self.recovered_after_s,
            "revert_steps": self.revert_steps,
            "seconds": round(self.seconds, 3),
            "request_ids": self.request_ids,
            "scenario": self.scenario,
            "error": self.error,
            "throttled": self.throttled,
        }


@dataclass(frozen=True)
class Coverage:
    resilient: int
    run: int

    @property
    def ratio(self) -> float | None:
        return self.resilient / self.run if self.run else None

    def to_json(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "resilient": self.resilient,
            "run": self.run,
            "ratio": round(ratio, 4) if ratio is not None else None,
        }

    def __str__(self) -> str:
        ratio = self.ratio
        return f"{ratio:.0%} ({self.resilient}/{self.run})" if ratio is not None else "n/a"


@dataclass
class MatrixResult:
    fleet: str
    workload: str
    cells: list[CellResult]
    fault_classes: list[str]
    edges: list[str]
    pruned: dict[str, str]  # edge -> why it has no cells
    pruning: str  # how pruning was decided (or why it was not)
    clean_checks: list[CheckOutcome]
    started_at: float
    ended_at: float
    boot_seconds: float | None = None
    error: str | None = None
    # check -> the cell after which it did not pass again (left out of the later cells)
    dropped: dict[str, str] = field(default_factory=dict)
    not_restored: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # unused edges run all the same
    baseline: dict[str, Any] | None = None
    artifacts: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Exit 0: it ran, every cell as expected, and the fleet was left clean."""
        return (
            self.error is None
            and not self.not_restored
            and any(c.ran for c in self.cells)
            and not any(c.changed or c.error for c in self.cells)
        )

    @property
    def reason(self) -> str:
        if self.error is not None:
            return self.error
        if self.not_restored:
            return "not restored: " + "; ".join(self.not_restored)
        errors = [c for c in self.cells if c.error]
        if errors:
            return f"{len(errors)} cell(s) could not run: " + "; ".join(
                f"{c.cell.id}: {c.reason}" for c in errors
            )
        changed = [c for c in self.cells if c.changed]
        if changed:
            return f"{len(changed)} cell(s) not as expected: " + ", ".join(
                f"{c.cell.id} {c.status.value} (expected {c.expected_status.value})"
                for c in changed
            )
        ran = sum(1 for c in self.cells if c.ran)
        return f"{ran} cells as expected"

    def coverage(self) -> tuple[Coverage, dict[str, Coverage]]:
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for result in self.cells:
            if not result.ran:
                continue
            counts = per[result.cell.caller]
            counts[1] += 1
            counts[0] += int(result.resilient)
        overall = Coverage(sum(v[0] for v in per.values()), sum(v[1] for v in per.values()))
        return overall, {name: Coverage(v[0], v[1]) for name, v in sorted(per.items())}

    def status_of(self, edge: str, fault: str) -> CellResult | None:
        for result in self.cells:
            if result.cell.edge == edge and result.cell.fault == fault:
                return result
        return None

    def to_json(self) -> dict[str, Any]:
        overall, per = self.coverage()
        data: dict[str, Any] = {
            "kind": "harness-fault-matrix",
            "version": 1,
            "fleet": self.fleet,
            "workload": self.workload,
            "ok": self.ok,
            "reason": self.reason,
            "error": self.error,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "seconds": round(self.ended_at - self.started_at, 3),
            "boot_seconds": self.boot_seconds,
            "fault_classes": self.fault_classes,
            "edges": self.edges,
            "pruned": self.pruned,
            "kept": self.kept,
            "pruning": self.pruning,
            "dropped_checks": self.dropped,
            "clean": [c.to_json() for c in self.clean_checks],
            "coverage": {
                "overall": overall.to_json(),
                "services": {k: v.to_json() for k, v in per.items()},
            },
            "cells": [c.to_json() for c in self.cells],
            "not_restored": self.not_restored,
        }
        if self.baseline is not None:
            data["delta"] = coverage_delta(data, self.baseline)
        return data


def coverage_delta(current: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Coverage now minus the baseline's, overall and per service, and the cells whose status
    changed since (ratios in percentage points)."""

    def ratio(data: dict[str, Any], service: str | None) -> float | None:
        cov = data.get("coverage", {})
        entry = cov.get("overall") if service is None else cov.get("services", {}).get(service)
        return entry.get("ratio") if isinstance(entry, dict) else None

    def points(now: float | None, then: float | None) -> float | None:
        return round((now - then) * 100, 2) if now is not None and then is not None else None

    services = sorted(
        set(current.get("coverage", {}).get("services", {}))
        | set(baseline.get("coverage", {}).get("services", {}))
    )
    before = {(c["edge"], c["fault"]): c["status"] for c in baseline.get("cells", [])}
    changes = [
        {
            "edge": c["edge"],
            "fault": c["fault"],
            "was": before[(c["edge"], c["fault"])],
            "now": c["status"],
        }
        for c in current.get("cells", [])
        if (c["edge"], c["fault"]) in before and before[(c["edge"], c["fault"])] != c["status"]
    ]
    return {
        "overall_points": points(ratio(current, None), ratio(baseline, None)),
        "services_points": {s: points(ratio(current, s), ratio(baseline, s)) for s in services},
        "baseline_overall": ratio(baseline, None),
        "changed_cells": changes,
    }
