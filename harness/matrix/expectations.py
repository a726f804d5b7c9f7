"""The expectations file: per edge and fault class, what the fleet promises.

``scenarios/chaos/expectations.yaml`` (optional; ``version: 1``)::

    workload: matrix-workload.yaml     # the CLI's probe workload, beside this file
    defaults: {timeout: 2s, recovery: 30s}
    answers:                           # named degraded (or failed) answers: HTTP probes
      quick-503: {http: {service: gateway, path: /api/x}, expect_status: 503}
    edges:
      orders->payments:
        timeout: 2s                    # the caller's timeout on this edge
        faults:
          latency_below: hold
          down: {expect: fail, status: 503, answer: quick-503}
          blackhole: {expect: degrade, answer: pending-order}

    load:                              # a load-profile workload's run and error budget
      duration: 6s
      p99: 2s
      allowed_5xx: [503]               # each with Retry-After (retry_after: true)
      invariants_module: tests.fuzz.invariants
      invariants: [money_conserved]

``hold``: every functional test that passes clean passes under the fault. ``degrade``: the
named answer (a probe) holds under the fault, tests may fail. ``fail``: the named answer
comes with ``status``. A cell the file does not declare is judged by the oracle alone.
Faults are reported as ``file:line: field: why``; names the fleet or the fault registry does
not know are found before anything starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from harness.chaos.scenario import Probe, located
from harness.errors import SpecIssue
from harness.load.durations import Duration
from harness.matrix.errors import ExpectationsError
from harness.yamlsource import Problem, file_beside, load_model

__all__ = [
    "EXPECTATIONS_FILE",
    "WORKLOAD_SUFFIX",
    "CellExpectation",
    "EdgeExpectations",
    "Expectations",
    "LoadBudget",
    "empty",
    "load_expectations",
]

EXPECTATIONS_FILE = "expectations.yaml"
# Probe workloads kept beside the game-days end so, and `pytest --chaos` leaves them out.
WORKLOAD_SUFFIX = ".workload.yaml"
Expect = Literal["hold", "degrade", "fail"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CellExpectation(_Strict):
    expect: Expect
    answer: str | None = Field(default=None, description="a name under answers:")
    status: Annotated[int, Field(ge=100, le=599)] | None = Field(
        default=None, description="fail: the status the answer must have"
    )
    note: str = Field(default="", description="why (shown in the reports)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"expect": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _complete(self) -> CellExpectation:
        if self.expect in ("degrade", "fail") and self.answer is None:
            raise ValueError(f"{self.expect} needs the answer it gives (answer: a name)")
        if self.expect == "fail" and self.status is None:
            raise ValueError("fail needs the status it answers with (status:)")
        if self.expect != "fail" and self.status is not None:
            raise ValueError("status applies to expect: fail only")
        if self.expect == "hold" and self.answer is not None:
            raise ValueError("hold takes no answer")
        return self

    @property
    def label(self) -> str:
        if self.expect == "fail":
            return f"fail {self.status} ({self.answer})"
        if self.expect == "degrade":
            return f"degrade ({self.answer})"
        return "hold"


class EdgeExpectations(_Strict):
    timeout: Duration | None = Field(default=None, description="the caller's timeout here")
    prune: bool = Field(
        default=True,
        description="false: run its cells even when the clean run carried no byte through it "
        "(an edge used in the background, at its own time)",
    )
    faults: dict[str, CellExpectation] = Field(default_factory=dict)


class Defaults(_Strict):
    timeout: Duration = Field(default=2.0, gt=0, description="a caller's timeout, by default")
    recovery: Duration = Field(
        default=30.0, ge=0, description="after a cell: how long its failed tests may take to pass"
    )


class LoadBudget(_Strict):
    """How a load-profile workload runs in each cell, and its error budget at the public
    entry: no 5xx other than ``allowed_5xx`` (with Retry-After when ``retry_after``), and no
    answer missing, beyond ``max_errors``; the p99 of every request under ``p99``; and the
    fleet's named ``invariants`` after the load."""

    duration: Duration = Field(
        default=6.0, gt=0, le=120, description="each run of the profile (its peak, held)"
    )
    users: int | None = Field(default=None, ge=1, le=1000, description="default: its peak")
    workers: int = Field(default=0, ge=0, le=8, description="Locust workers (0: one process)")
    allowed_5xx: list[Annotated[int, Field(ge=500, le=599)]] = Field(
        default_factory=lambda: [503], description="5xx statuses within the budget"
    )
    retry_after: bool = Field(default=True, description="an allowed 5xx needs Retry-After")
    max_errors: int = Field(default=0, ge=0, description="5xx or unanswered beyond those")
    p99: Duration = Field(default=2.0, gt=0, description="bound of the p99 of every request")
    invariants_module: str | None = Field(
        default=None, description="the module registering the fleet's invariants"
    )
    invariants: list[str] = Field(default_factory=list, description="checked after the load")


class Expectations(_Strict):
    version: Literal[1]
    workload: str | None = Field(default=None, description="the probe workload, beside this")
    defaults: Defaults = Field(default_factory=Defaults)
    load: LoadBudget = Field(default_factory=LoadBudget)
    answers: dict[str, Probe] = Field(default_factory=dict)
    edges: dict[str, EdgeExpectations] = Field(default_factory=dict)

    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        return self._path

    @field_validator("workload")
    @classmethod
    def _workload_exists(cls, value: str | None) -> str | None:
        return file_beside(value, "workload file") if value is not None else None

    def problems(self) -> Iterable[Problem]:
        for name, probe in self.answers.items():
            if probe.http is None:
                yield Problem(("answers", name), "an answer is an HTTP probe (http:)")
        for edge, spec in self.edges.items():
            if "->" not in edge:
                yield Problem(("edges", edge), f"edge '{edge}': write caller->callee")
            for fault, cell in spec.faults.items():
                if cell.answer is not None and cell.answer not in self.answers:
                    known = ", ".join(sorted(self.answers)) or "none"
                    yield Problem(
                        ("edges", edge, "faults", fault, "answer"),
                        f"no answer '{cell.answer}' (answers: {known})",
                    )

    def timeout(self, edge: str) -> float:
        spec = self.edges.get(edge)
        if spec is not None and spec.timeout is not None:
            return float(spec.timeout)
        return float(self.defaults.timeout)

    def prunable(self, edge: str) -> bool:
        spec = self.edges.get(edge)
        return spec.prune if spec is not None else True

    def cell(self, edge: str, fault: str) -> CellExpectation | None:
        spec = self.edges.get(edge)
        return spec.faults.get(fault) if spec is not None else None

    def fleet_problems(
        self, edges: Iterable[str], services: Iterable[str], fault_classes: Iterable[str]
    ) -> list[SpecIssue]:
        """Names the fleet or the fault registry does not have (before anything starts)."""
        known_edges, known_services = set(edges), set(services)
        known_faults = list(fault_classes)
        found: list[Problem] = []
        for edge, spec in self.edges.items():
            if edge not in known_edges:
                listed = ", ".join(sorted(known_edges))
                found.append(Problem(("edges", edge), f"no edge '{edge}' (edges: {listed})"))
            for fault in spec.faults:
                if fault not in known_faults:
                    found.append(
                        Problem(
                            ("edges", edge, "faults", fault),
                            f"no fault class '{fault}' (fault classes: {', '.join(known_faults)})",
                        )
                    )
        for name, probe in self.answers.items():
            if probe.http is not None and probe.http.service not in known_services:
                found.append(
                    Problem(
                        ("answers", name, "http", "service"), f"no service '{probe.http.service}'"
                    )
                )
        return located(str(self._path), found) if self._path is not None else []


def empty() -> Expectations:
    """No file: every cell is judged by the oracle alone, timeouts default."""
    return Expectations(version=1)


def load_expectations(path: str | Path) -> Expectations:
    source = Path(path)
    spec = load_model(source, Expectations, error=ExpectationsError)
    spec._path = source.resolve()
    return spec
