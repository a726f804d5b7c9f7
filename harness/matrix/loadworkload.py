"""A load profile as the matrix's workload, judged by an error budget at the public entry.

``harness faults matrix --workload scenarios/load/checkout-short.yaml`` runs the profile
(the Locust-based profiles of :mod:`harness.load`, through its one entry ``run_profile``)
briefly in each cell: its peak held for the expectations file's ``load.duration``, its own
thresholds, baseline and expected verdict left out (the budget judges, not the profile's
gate). Its checks, each a row of the oracle like a probe's:

- ``load: requests measured``: a run that measured no request failed (zero work is no
  pass, whatever the rest says);
- ``load: no 5xx but 503 with Retry-After`` (as configured): every 5xx other than the
  allowed ones, an allowed one without ``Retry-After``, and every request without an answer
  count against ``load.max_errors``;
- ``load: p99 < N ms``: the p99 of every request under ``load.p99``;
- ``invariant: NAME`` for each of ``load.invariants``, checked after the load.

Several workloads run together (a probe workload and a load profile) as
:class:`CombinedWorkload`: one after the other in each cell, their checks side by side.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from harness.chaos.checks import ProbeRunner
from harness.chaos.scenario import Probe
from harness.errors import HarnessError
from harness.fleet.lifecycle import Fleet
from harness.invariants import InvariantContext, InvariantRegistry
from harness.invariants import registry as default_registry
from harness.load import LoadProfile, LoadResult, run_profile
from harness.load.profiles import Stage
from harness.matrix.errors import MatrixError
from harness.matrix.expectations import LoadBudget
from harness.matrix.workload import CheckOutcome, OnFleet, Workload, WorkloadRun

__all__ = [
    "REQUESTS_CHECK",
    "CombinedWorkload",
    "FleetBoundWorkload",
    "LoadWorkload",
    "brief_profile",
    "budget_breaches",
]

REQUESTS_CHECK = "load: requests measured"
_STATUS = re.compile(r"^HTTP (\d{3})")
_NO_RETRY_AFTER = "without Retry-After"  # harness/load/locustfile.py's NO_RETRY_AFTER


def brief_profile(profile: LoadProfile, budget: LoadBudget) -> LoadProfile:
    """The profile's peak held for ``budget.duration``: no warm-up, no thresholds, no
    baseline, no expected verdict (the budget judges)."""
    if profile.open_model:
        stages = [Stage(duration=budget.duration, rate=max(s.rate or 0 for s in profile.stages))]
    else:
        users = budget.users or profile.peak_users or 1
        stages = [Stage(duration=budget.duration, users=users, spawn_rate=float(users))]
    updated: dict[str, Any] = {
        "stages": stages,
        "warmup": 0.0,
        "thresholds": {},
        "compare": None,
        "expect": None,
        "workers": budget.workers,
    }
    copy = profile.model_copy(update=updated)
    copy._path = profile.path
    return copy


def budget_breaches(result: LoadResult, budget: LoadBudget) -> tuple[int, list[str]]:
    """(requests outside the budget, what they were): 5xx not allowed, an allowed one
    without Retry-After when that is required, and requests that got no answer."""
    count = 0
    kinds: list[str] = []
    for error in result.errors:
        text = error.error
        found = _STATUS.match(text)
        if found is not None:
            status = int(found.group(1))
            if status < 500:
                continue  # not a server error: the budget is about 5xx and silence
            allowed = status in budget.allowed_5xx and not (
                budget.retry_after and _NO_RETRY_AFTER in text
            )
            if allowed:
                continue
        elif not text.startswith("no response"):
            continue  # a response the profile could not use (a field to save): not 5xx
        count += error.occurrences
        kinds.append(f"{error.occurrences}x {error.method} {error.name}: {text}"[:200])
    return count, kinds


class LoadWorkload:
    """A load profile run in each cell against the fleet, judged by a :class:`LoadBudget`."""

    def __init__(
        self,
        profile: LoadProfile,
        budget: LoadBudget,
        fleet: Fleet,
        report_dir: Path,
        registry: InvariantRegistry | None = None,
    ) -> None:
        self.profile = brief_profile(profile, budget)
        self.budget = budget
        self._fleet = fleet
        self.report_dir = report_dir
        self.description = f"load profile {profile.name} ({budget.duration:g} s per run)"
        allowed = ", ".join(str(s) for s in budget.allowed_5xx)
        self.budget_check = "load: no 5xx" + (
            f" but {allowed}" + (" with Retry-After" if budget.retry_after else "")
            if budget.allowed_5xx
            else ""
        )
        self.p99_check = f"load: p99 < {budget.p99 * 1000:.0f} ms"
        self.load_checks = [REQUESTS_CHECK, self.budget_check, self.p99_check]
        self.invariant_checks = {f"invariant: {name}": name for name in budget.invariants}
        urls = {name: svc.url for name, svc in fleet.services.items()}
        self.invariants = ProbeRunner(
            urls=urls,
            registry=registry or default_registry,
            variables={},
            context=InvariantContext(urls),
        )
        self.runs = 0

    @property
    def fleet(self) -> Fleet | None:
        return self._fleet

    @property
    def checks(self) -> list[str]:
        return [*self.load_checks, *self.invariant_checks]

    def close(self) -> None:
        self.invariants.close()

    def run(
        self, label: str, only: Collection[str] | None = None, on_fleet: OnFleet | None = None
    ) -> WorkloadRun:
        if on_fleet is not None:
            on_fleet(self._fleet)
        began = time.monotonic()
        run = WorkloadRun(label)
        wanted = set(self.checks if only is None else only)
        if wanted & set(self.load_checks):
            for outcome in self._load(label):
                if outcome.id in wanted:
                    run.checks[outcome.id] = outcome
        for check, name in self.invariant_checks.items():
            if check not in wanted:
                continue
            t0 = time.monotonic()
            result = self.invariants.run(Probe(invariant=name), "after", 0.0)
            message = "" if result.ok else f"{result.observed}: {result.message}"[:500]
            run.checks[check] = CheckOutcome(check, result.ok, message, time.monotonic() - t0)
        run.seconds = time.monotonic() - began
        return run

    def _load(self, label: str) -> list[CheckOutcome]:
        self.runs += 1
        tag = "".join(ch if ch.isalnum() else "-" for ch in label)[:40].strip("-")
        out = self.report_dir / f"{self.runs:03d}-{tag}"
        began = time.monotonic()
        try:
            result = run_profile(
                self.profile, fleet=self._fleet, report_dir=out, step_summary=False
            )
        except HarnessError as exc:  # the load could not run: every load check fails
            why = f"the load did not run: {type(exc).__name__}: {exc}"[:500]
            return [CheckOutcome(c, False, why, time.monotonic() - began) for c in self.load_checks]
        took = time.monotonic() - began
        total = result.stats.total
        where = f" (report: {out})"
        outcomes = [
            CheckOutcome(
                REQUESTS_CHECK,
                result.no_work is None,
                (result.no_work or "") + (where if result.no_work else ""),
                took,
            )
        ]
        breaches, kinds = budget_breaches(result, self.budget)
        over = breaches > self.budget.max_errors or not total.requests
        outcomes.append(
            CheckOutcome(
                self.budget_check,
                not over,
                (
                    f"{breaches} of {total.requests} requests outside the budget "
                    f"(max {self.budget.max_errors}): " + "; ".join(kinds[:3]) + where
                    if over and total.requests
                    else ("no request measured" if over else "")
                ),
                took,
            )
        )
        p99 = total.percentile_ms(0.99) if total.requests else None
        slow = p99 is None or p99 > self.budget.p99 * 1000
        outcomes.append(
            CheckOutcome(
                self.p99_check,
                not slow,
                (f"p99 {p99:.0f} ms over {total.requests} requests" + where)
                if slow and p99 is not None
                else ("no request measured" if slow else ""),
                took,
            )
        )
        return outcomes


class CombinedWorkload:
    """Several workloads as one: each runs in turn in every run, their checks side by side
    (their ids must differ: a load's checks are named ``load: ...``)."""

    def __init__(self, parts: Sequence[Workload]) -> None:
        self.parts = list(parts)
        self.description = " + ".join(part.description for part in self.parts)

    @property
    def fleet(self) -> Fleet | None:
        return next((p.fleet for p in self.parts if p.fleet is not None), None)

    @property
    def probes(self) -> ProbeRunner | None:
        """A probe workload's runner, for the declared answers (its variables)."""
        return next((getattr(p, "probes", None) for p in self.parts if hasattr(p, "probes")), None)

    def close(self) -> None:
        for part in self.parts:
            close = getattr(part, "close", None)
            if callable(close):
                close()

    def run(
        self, label: str, only: Collection[str] | None = None, on_fleet: OnFleet | None = None
    ) -> WorkloadRun:
        began = time.monotonic()
        merged = WorkloadRun(label)
        for index, part in enumerate(self.parts):
            done = part.run(label, only=only, on_fleet=on_fleet if index == 0 else None)
            merged.checks.update(done.checks)
            merged.throttled += done.throttled
        merged.seconds = time.monotonic() - began
        return merged


class FleetBoundWorkload:
    """A workload made on another's fleet once that one has it: a load profile beside
    pytest's selection, whose fleet is known only after the selection's first run (the
    ``fleet`` fixture). It runs after its source in each run (:class:`CombinedWorkload`)."""

    def __init__(
        self, source: Workload, make: Callable[[Fleet], Workload], description: str
    ) -> None:
        self.source = source
        self.make = make
        self.description = description
        self.made: Workload | None = None

    @property
    def fleet(self) -> Fleet | None:
        return self.source.fleet

    def close(self) -> None:
        close = getattr(self.made, "close", None)
        if callable(close):
            close()

    def run(
        self, label: str, only: Collection[str] | None = None, on_fleet: OnFleet | None = None
    ) -> WorkloadRun:
        if self.made is None:
            fleet = self.source.fleet
            if fleet is None:
                raise MatrixError(
                    f"{self.description}: {self.source.description} brought no fleet "
                    "(does it use the `fleet` fixture?)"
                )
            self.made = self.make(fleet)
        return self.made.run(label, only=only, on_fleet=on_fleet)
