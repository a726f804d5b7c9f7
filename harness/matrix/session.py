"""The fault matrix, one run: every selected edge x every selected fault class.

``prepare(project, expectations=..., edges=..., faults=...)`` checks everything that can be
checked before anything starts (the expectations file, the selection, the names) and
returns a :class:`MatrixPlan`; ``run_matrix(plan, workload, ...)`` is the one core entry
both adapters call. It runs the workload once clean (reading each edge's traffic around
it, see :mod:`harness.matrix.usage`), prunes the edges it never used, and then for each
cell: verifies the edge clean, injects the fault, runs the workload's checks that passed
clean, checks the declared answer if any, reverts and verifies the edge clean again, and
waits until the checks that failed pass again (the next cell starts from a recovered
fleet; one that does not recover within ``defaults.recovery`` is a finding of its own).
In a ``finally`` the chaos rollback cleans every proxy and proves the fleet as found.
"""

from __future__ import annotations

import contextlib
import fnmatch
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.chaos.checks import CheckResult, ProbeRunner
from harness.chaos.rollback import Rollback
from harness.chaos.scenario import located
from harness.config import HarnessConfig
from harness.errors import HarnessError, SpecIssue
from harness.fleet import signals
from harness.fleet.graph import derive_edges
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import Manifest
from harness.invariants import InvariantContext, InvariantRegistry, load_invariants
from harness.invariants import registry as default_registry
from harness.load import LoadProfile, load_profile
from harness.load.session import check_target
from harness.matrix import faultclasses
from harness.matrix.errors import MatrixError, SelectionError
from harness.matrix.expectations import (
    EXPECTATIONS_FILE,
    CellExpectation,
    Expectations,
    empty,
    load_expectations,
)
from harness.matrix.loadworkload import CombinedWorkload, FleetBoundWorkload, LoadWorkload
from harness.matrix.outcome import Cell, CellResult, MatrixResult, Status
from harness.matrix.usage import EdgeTraffic, EdgeUsage
from harness.matrix.workload import (
    CLEAN_RUN,
    ProbeWorkload,
    ProbeWorkloadSpec,
    Workload,
    WorkloadRun,
    load_workload,
)
from harness.project import Project
from harness.yamlsource import Problem

__all__ = [
    "DEFAULT_SUBDIR",
    "MatrixPlan",
    "Progress",
    "default_expectations",
    "prepare",
    "run_matrix",
]

Progress = Callable[[dict[str, Any]], None]
DEFAULT_SUBDIR = "matrix"
_RECOVERY_POLL = 0.5


@dataclass(frozen=True)
class MatrixPlan:
    manifest: Manifest
    expectations: Expectations
    edges: list[str]  # selected, in name order
    faults: list[str]  # selected, in the registry's order
    workload: ProbeWorkloadSpec | None  # the probe workload, when that is the workload
    root: Path
    prune: bool = True
    load: LoadProfile | None = None  # a load profile run in each cell (expectations' load:)


def default_expectations(config: HarnessConfig) -> Path:
    """``<chaos.scenarios>/expectations.yaml`` (``scenarios/chaos/expectations.yaml``)."""
    return config.chaos.scenarios / EXPECTATIONS_FILE


def _select(
    wanted: Sequence[str] | None, known: Sequence[str], what: str, option: str
) -> list[str]:
    if not wanted:
        return list(known)
    chosen: list[str] = []
    for pattern in wanted:
        for item in [p.strip() for p in pattern.split(",") if p.strip()]:
            hits = [k for k in known if fnmatch.fnmatchcase(k, item)]
            if not hits:
                raise SelectionError(
                    f"{option} {item}: no {what} matches (known: {', '.join(known)})"
                )
            chosen += [h for h in hits if h not in chosen]
    return [k for k in known if k in chosen]


def _is_load_profile(path: Path) -> bool:
    """A load profile (``tasks:``/``locustfile:``/``stages:``) rather than a probe workload
    (``checks:``); a file that is neither is read as a probe workload, whose errors say so."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return False  # the probe workload's loader reports it, with its line
    return (
        isinstance(data, dict)
        and "checks" not in data
        and ("tasks" in data or "locustfile" in data or "stages" in data)
    )


def _load_budget_problems(
    spec: Expectations, root: Path, registry: InvariantRegistry | None
) -> list[SpecIssue]:
    """The budget's invariants: its module loaded, every name registered."""
    budget = spec.load
    if budget.invariants_module is not None:
        load_invariants(budget.invariants_module, root=root)
    known = (registry or default_registry).names
    found = [
        Problem(
            ("load", "invariants", index),
            f"no invariant '{name}' (registered: {', '.join(sorted(known)) or 'none'})",
        )
        for index, name in enumerate(budget.invariants)
        if name not in known
    ]
    return located(str(spec.path or "expectations (none: defaults)"), found)


def prepare(
    project: Project,
    *,
    expectations: Path | None = None,
    workload: Path | Sequence[Path] | None = None,
    edges: Sequence[str] | None = None,
    faults: Sequence[str] | None = None,
    prune: bool = True,
    registry: InvariantRegistry | None = None,
    need_workload: bool = True,
) -> MatrixPlan:
    """Everything checkable before anything starts; InputError (exit 2) otherwise.

    ``expectations`` None: the configured default when it exists, else none (every cell
    judged by the oracle alone). ``workload`` None: the expectations file's ``workload``,
    required when ``need_workload`` (the CLI; pytest's workload is its selection). A
    workload file is a probe workload or a load profile (told apart by their keys); one of
    each runs both in every cell.
    """
    manifest = project.manifest
    path = expectations
    if path is None and default_expectations(project.config).is_file():
        path = default_expectations(project.config)
    if path is not None and not Path(path).is_file():
        raise SelectionError(f"no such expectations file: {path}")
    spec = load_expectations(path) if path is not None else empty()
    all_edges = [edge.name for edge in derive_edges(manifest)]
    classes = list(faultclasses.fault_classes())
    issues: list[SpecIssue] = spec.fleet_problems(all_edges, manifest.services, classes)
    if issues:
        from harness.matrix.errors import ExpectationsError

        raise ExpectationsError(issues)
    if not all_edges:
        raise SelectionError(f"fleet '{manifest.name}' has no edge: the matrix has no cell")
    chosen_edges = _select(edges, all_edges, "edge", "--edges")
    chosen_faults = _select(faults, classes, "fault class", "--faults")
    if workload is None:
        sources = [Path(spec.workload)] if spec.workload else []
    else:
        sources = [Path(workload)] if isinstance(workload, str | Path) else list(workload)
    probe_spec = None
    load: LoadProfile | None = None
    for source in sources:
        if _is_load_profile(source):
            if load is not None:
                raise SelectionError(f"{source}: one load profile per matrix ({load.path})")
            load = load_profile(source)
            check_target(load, project)
            budget_issues = _load_budget_problems(spec, project.root, registry)
            if budget_issues:
                from harness.matrix.errors import ExpectationsError

                raise ExpectationsError(budget_issues)
            continue
        if probe_spec is not None:
            raise SelectionError(f"{source}: one probe workload per matrix")
        probe_spec = load_workload(source, manifest.services, root=project.root, registry=registry)
    if probe_spec is None and load is None and need_workload:
        raise SelectionError(
            "no workload: give --workload FILE or `workload:` in the expectations file"
            + (f" ({path})" if path is not None else "")
        )
    return MatrixPlan(
        manifest, spec, chosen_edges, chosen_faults, probe_spec, project.root, prune, load
    )


@contextmanager
def _own_fleet(
    fleet: Fleet | None, project: Project | None, launch: bool
) -> Iterator[Fleet | None]:
    if fleet is not None or not launch:
        yield fleet
        return
    assert project is not None
    with project.launch() as started:
        yield started


class _Matrix:
    def __init__(
        self,
        plan: MatrixPlan,
        workload: Workload,
        progress: Progress | None,
        registry: InvariantRegistry,
    ) -> None:
        self.plan = plan
        self.workload = workload
        self.progress = progress
        self.registry = registry
        self.fleet: Fleet | None = None
        self.usage: EdgeUsage | None = None
        self.answers: ProbeRunner | None = None
        self.cells: list[CellResult] = []
        self.pruned: dict[str, str] = {}
        self.kept: dict[str, str] = {}  # unused, yet run: the expectations say prune: false
        self.pruning = "off (--no-prune)" if not plan.prune else ""
        self.clean: WorkloadRun | None = None
        # Checks that did not pass again after a cell: left out of the later cells (they
        # would fail in each for that cell's sake, and wait out the recovery bound).
        self.dropped: dict[str, str] = {}
        self.asking = ThreadPoolExecutor(max_workers=1, thread_name_prefix="matrix-answer")

    def emit(self, kind: str, **data: Any) -> None:
        if self.progress is not None:
            with contextlib.suppress(Exception):
                self.progress({"kind": kind, **data})

    def on_fleet(self, fleet: Fleet) -> None:
        self.fleet = fleet
        if not fleet.proxied:
            raise MatrixError("the fleet runs unproxied: the matrix needs Toxiproxy on every edge")
        if self.plan.prune and self.usage is None:
            self.usage = EdgeUsage(fleet)
            self.usage.begin()

    def run_clean(self) -> list[str]:
        self.emit("phase", phase="clean run")
        if self.fleet is not None:
            self.on_fleet(self.fleet)
            self.clean = self.workload.run(CLEAN_RUN)
        else:
            self.clean = self.workload.run(CLEAN_RUN, on_fleet=self.on_fleet)
        if self.fleet is None:
            self.fleet = self.workload.fleet
        if self.fleet is None:
            raise MatrixError("the workload ran against no fleet: nothing to put faults on")
        if self.plan.prune and self.usage is None:
            self.on_fleet(self.fleet)  # too late for a reading before: no pruning
        passing = self.clean.passed
        self.emit(
            "clean",
            passed=len(passing),
            failed=len(self.clean.checks) - len(passing),
            throttled=self.clean.throttled,
        )
        if not passing:
            failures = (
                "; ".join(f"{c.id}: {c.message}"[:200] for c in self.clean.checks.values())
                or "the workload has no check"
            )
            raise MatrixError(
                f"nothing to judge: no check of the workload passed clean ({failures})"
            )
        return passing

    def prune(self) -> None:
        if not self.plan.prune or self.usage is None:
            return
        traffic = self.usage.end()
        if traffic is None:
            self.pruning = f"off: no evidence ({self.usage.problem})"
            return
        self.pruning = (
            "bytes through each edge's proxy during the clean run (Toxiproxy -proxy-metrics, "
            "read after closing every connection, proven by a canary)"
        )
        for edge in self.plan.edges:
            seen: EdgeTraffic | None = traffic.get(edge)
            if seen is not None and not seen.used:
                if not self.plan.expectations.prunable(edge):
                    self.kept[edge] = (
                        f"0 bytes through proxy {seen.proxy} during the clean workload, "
                        "run anyway (prune: false in the expectations)"
                    )
                    continue
                self.pruned[edge] = (
                    f"unused: 0 bytes through proxy {seen.proxy} during the clean workload"
                )

    def run_cells(self, passing: list[str]) -> None:
        assert self.fleet is not None
        urls = {name: svc.url for name, svc in self.fleet.services.items()}
        probes = getattr(self.workload, "probes", None)
        if isinstance(probes, ProbeRunner):
            # The declared answers are written like the workload's checks: same variables
            # (the token and ids its setup saved).
            self.answers = probes
        else:
            self.answers = ProbeRunner(
                urls=urls,
                registry=self.registry,
                variables={"run_id": uuid.uuid4().hex[:8]},
                context=InvariantContext(urls),
            )
        todo = [Cell(edge, fault) for edge in self.plan.edges for fault in self.plan.faults]
        # A cell has no run when its edge was pruned, or its class does not apply to the
        # edge on this fleet (a container fault on a fleet of processes): skipped, with why.
        skipped = {cell: why for cell in todo if (why := self.skip_reason(cell)) is not None}
        if len(skipped) == len(todo):
            for cell, why in skipped.items():
                self.cells.append(self.skipped(cell, why))
            raise MatrixError(
                "no cell left to run: "
                + "; ".join(sorted({f"{c.id}: {why}" for c, why in skipped.items()}))
            )
        for number, cell in enumerate(todo, start=1):
            expectation = self.plan.expectations.cell(cell.edge, cell.fault)
            if cell in skipped:
                self.cells.append(self.skipped(cell, skipped[cell]))
                continue
            self.emit("cell", cell=cell.id, n=number, of=len(todo), state="start")
            live = [check for check in passing if check not in self.dropped]
            if not live:
                raise MatrixError(
                    "no check left to judge with: every one did not recover after a cell ("
                    + "; ".join(f"{c}: after {why}" for c, why in self.dropped.items())
                    + ")"
                )
            result = self.run_cell(cell, expectation, live)
            if result.recovered_after_s is None and result.ran and not result.error:
                for finding in result.findings:
                    self.dropped.setdefault(finding.id, cell.id)
            self.cells.append(result)
            self.emit(
                "cell",
                cell=cell.id,
                n=number,
                of=len(todo),
                state="done",
                status=result.status.value,
                as_expected=result.as_expected,
                seconds=result.seconds,
                throttled=result.throttled,
            )

    def skip_reason(self, cell: Cell) -> str | None:
        if cell.edge in self.pruned:
            return "pruned: " + self.pruned[cell.edge]
        assert self.fleet is not None
        edge = self.fleet.edge_proxy(cell.edge).edge
        return faultclasses.get(cell.fault).skip_reason(self.fleet, edge)

    def skipped(self, cell: Cell, why: str) -> CellResult:
        expectation = self.plan.expectations.cell(cell.edge, cell.fault)
        return CellResult(
            cell, Status.SKIPPED, expectation.label if expectation else None, reason=why
        )

    def run_cell(
        self, cell: Cell, expectation: CellExpectation | None, passing: list[str]
    ) -> CellResult:
        assert self.fleet is not None
        assert self.answers is not None
        fleet = self.fleet
        fault_class = faultclasses.get(cell.fault)
        timeout = self.plan.expectations.timeout(cell.edge)
        began = time.monotonic()
        label = expectation.label if expectation else None
        fleet.clear_edge(cell.edge)  # clean before, verified (escalates if it must)
        fault = fault_class.make(fleet, fleet.edge_proxy(cell.edge).edge, timeout)
        not_reverted: str | None = None
        answer_ok: bool | None = None
        answer_text: str | None = None
        run: WorkloadRun | None = None
        try:
            fault.inject()
            asked: Future[CheckResult] | None = None
            if expectation is not None and expectation.answer is not None:
                probe = self.plan.expectations.answers[expectation.answer]
                if expectation.expect == "fail":
                    probe = probe.model_copy(update={"expect_status": [expectation.status]})
                # Asked while the workload runs: a bounded failure (retries spent) takes
                # seconds, and the two need not wait for each other.
                asked = self.asking.submit(self.answers.run, probe, "during", 0.0)
            run = self.workload.run(cell.id, only=passing)
            if asked is not None:
                assert expectation is not None
                try:
                    checked = asked.result()
                except Exception as exc:  # a template the workload cannot fill, say
                    answer_ok = False
                    answer_text = f"{expectation.answer}: not asked ({type(exc).__name__}: {exc})"
                else:
                    answer_ok = checked.ok
                    answer_text = f"{expectation.answer}: " + (
                        "as declared"
                        if checked.ok
                        else f"{checked.observed} (expected {checked.expected})"
                    )
        except HarnessError as exc:
            return CellResult(
                cell,
                Status.SKIPPED,
                label,
                fault.description,
                reason=f"not run: {type(exc).__name__}: {exc}",
                seconds=time.monotonic() - began,
                error=True,
            )
        finally:
            try:
                fault.revert()
            except Exception as exc:  # a proxy fault: clear_edge below escalates anyway
                not_reverted = f"{type(exc).__name__}: {exc}"
            fleet.clear_edge(cell.edge)  # verified clean (raises RecoveryFailed if it cannot)
        if not_reverted is not None and not fault_class.on_proxy:
            # Nothing else cleans a fault off the proxy (a paused callee): the next cells
            # would judge a faulty fleet. Stop; the final rollback tries again and proves.
            raise MatrixError(f"{cell.id}: the fault's revert failed: {not_reverted}")
        steps = [s.to_json() for s in getattr(fault, "revert_steps", [])]
        assert run is not None
        findings = run.failed_of(passing)
        recovered_after, left = self.recover([f.id for f in findings])
        status, reason = _judge(expectation, findings, answer_ok, left, self.plan.expectations)

        ids = [rid for f in findings for rid in f.request_ids]
        return CellResult(
            cell,
            status,
            label,
            fault.description,
            reason=reason,
            findings=findings,
            answer=answer_text,
            recovered_after_s=recovered_after,
            revert_steps=steps,
            seconds=time.monotonic() - began,
            request_ids=ids,
            throttled=run.throttled,
        )

    def recover(self, failed: list[str]) -> tuple[float | None, list[str]]:
        """Wait until every service is ready and the checks that failed pass again: (seconds
        until recovered, or None; the checks still failing, with what the last attempt said)."""
        assert self.fleet is not None
        bound = float(self.plan.expectations.defaults.recovery)
        began = time.monotonic()
        for name in self.fleet.services:
            with contextlib.suppress(HarnessError):
                self.fleet.wait_ready(name, timeout=max(bound, 1.0))
        left = list(failed)
        if not left:
            return 0.0, []
        while True:
            again = self.workload.run("recovery", only=left)
            still = again.failed_of(left)
            left = [c.id for c in still]
            if not left:
                return time.monotonic() - began, []
            if time.monotonic() - began > bound:
                return None, [f"{c.id} ({c.message[:300]})" for c in still]
            time.sleep(_RECOVERY_POLL)

    def close(self) -> None:
        self.asking.shutdown(wait=True)
        if self.usage is not None:
            self.usage.close()
        if self.answers is not None and self.answers is not getattr(self.workload, "probes", None):
            self.answers.close()


def _judge(
    expectation: CellExpectation | None,
    findings: Sequence[Any],
    answer_ok: bool | None,
    not_recovered: Collection[str],
    spec: Expectations,
) -> tuple[Status, str]:
    if not_recovered:
        return Status.BROKEN, (
            f"did not recover within {spec.defaults.recovery:g}s of the fault's removal: "
            + ", ".join(not_recovered)
        )
    names = ", ".join(f.id for f in findings)
    if expectation is None or expectation.expect == "hold":
        if findings:
            return Status.BROKEN, f"{len(findings)} check(s) passed clean and failed: {names}"
        return Status.HELD, "every check that passed clean passed"
    if answer_ok:
        status = Status.DEGRADED if expectation.expect == "degrade" else Status.FAILED
        return status, f"the declared answer '{expectation.answer}' came" + (
            f" ({len(findings)} check(s) failed as documented)" if findings else ""
        )
    if not findings:
        return Status.HELD, (
            f"held: every check passed and the declared answer '{expectation.answer}' "
            "did not come (better than declared: update the expectations)"
        )
    return Status.BROKEN, (
        f"the declared answer '{expectation.answer}' did not come, and "
        f"{len(findings)} check(s) failed: {names}"
    )


def _file_workloads(
    plan: MatrixPlan, fleet: Fleet, registry: InvariantRegistry, out: Path
) -> Workload:
    """The CLI's workload: the probe workload, the load profile, or both in turn."""
    parts: list[Workload] = []
    if plan.workload is not None:
        parts.append(ProbeWorkload(plan.workload, fleet, registry))
    if plan.load is not None:
        parts.append(LoadWorkload(plan.load, plan.expectations.load, fleet, out / "load", registry))
    return parts[0] if len(parts) == 1 else CombinedWorkload(parts)


def run_matrix(
    plan: MatrixPlan,
    workload: Workload | None = None,
    *,
    fleet: Fleet | None = None,
    project: Project | None = None,
    report_dir: Path | None = None,
    baseline: Path | None = None,
    registry: InvariantRegistry | None = None,
    on_progress: Progress | None = None,
    step_summary: bool = True,
) -> MatrixResult:
    """Run the matrix and write its reports; the result says whether every cell was as
    expected. ``workload`` None: the plan's probe workload, on ``fleet`` or on a fleet
    started from ``project`` for this run. A workload object (pytest's selection) brings
    its own fleet, known once its clean run made it."""
    from harness.matrix.reports import read_baseline, write_reports

    chosen = registry or default_registry
    previous = read_baseline(baseline) if baseline is not None else None
    if workload is None and plan.workload is None and plan.load is None:
        raise SelectionError("no workload to run")
    out = (report_dir or Path("reports").resolve() / DEFAULT_SUBDIR).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    error: str | None = None
    interrupted: BaseException | None = None
    not_restored: list[str] = []
    matrix: _Matrix | None = None
    boot: float | None = None
    description = workload.description if workload is not None else "probe workload"
    with signals.sigterm_raises():
        try:
            with _own_fleet(fleet, project, launch=workload is None) as running:
                boot = running.boot_seconds if running is not None else None
                if workload is None:
                    assert running is not None
                    used: Workload = _file_workloads(plan, running, chosen, out)
                    description = used.description
                elif plan.load is not None:
                    # A load profile beside a workload object (pytest's selection): made
                    # on the selection's fleet after its first run, run after it each time.
                    profile, budget = plan.load, plan.expectations.load
                    used = CombinedWorkload(
                        [
                            workload,
                            FleetBoundWorkload(
                                workload,
                                lambda bound: LoadWorkload(
                                    profile, budget, bound, out / "load", chosen
                                ),
                                f"load profile {profile.name}",
                            ),
                        ]
                    )
                    description = used.description
                else:
                    used = workload
                matrix = _Matrix(plan, used, on_progress, chosen)
                matrix.fleet = running
                try:
                    passing = matrix.run_clean()
                    matrix.prune()
                    matrix.run_cells(passing)
                except KeyboardInterrupt as exc:
                    interrupted = exc
                    error = "interrupted: rolled back"
                except HarnessError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                finally:
                    with signals.deferred() as held:
                        if matrix.fleet is not None and matrix.fleet.proxied:
                            report = Rollback(matrix.fleet).run([])
                            not_restored = report.not_restored
                        matrix.close()
                        if used is not workload:  # made here: closed here
                            close = getattr(used, "close", None)
                            if callable(close):
                                close()
                    if held and interrupted is None:
                        interrupted = KeyboardInterrupt()
        except KeyboardInterrupt as exc:
            interrupted = interrupted or exc
            error = error or "interrupted: rolled back"
        except HarnessError as exc:
            error = error or f"{type(exc).__name__}: {exc}"
    result = MatrixResult(
        fleet=plan.manifest.name,
        workload=description,
        cells=matrix.cells if matrix is not None else [],
        fault_classes=plan.faults,
        edges=plan.edges,
        pruned=matrix.pruned if matrix is not None else {},
        kept=matrix.kept if matrix is not None else {},
        pruning=matrix.pruning if matrix is not None else "",
        clean_checks=list(matrix.clean.checks.values()) if matrix and matrix.clean else [],
        dropped=matrix.dropped if matrix is not None else {},
        started_at=started,
        ended_at=time.time(),
        boot_seconds=boot,
        error=error,
        not_restored=not_restored,
        baseline=previous,
    )
    write_reports(result, plan, out, step_summary=step_summary)
    if interrupted is not None:
        raise interrupted
    return result
