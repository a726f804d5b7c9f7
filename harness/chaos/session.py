"""One game-day from a scenario file to its verdict, journal and reports.

``run_gameday("scenarios/chaos/payments-slow.yaml")``: validate (every name the scenario
uses is checked against the fleet's manifest and the invariant registry before anything
starts), boot the fleet (or use the one given), make the setup requests, start the load,
check the steady state before (stop with ``not-steady`` if it does not hold), run the method
on its timeline while probing every N s and watching the abort conditions, wait for the
steady state to come back within the recovery bound, stop the load, and ALWAYS roll back:
on success, deviation, abort, error, Ctrl-C and SIGTERM (both arrive here as
KeyboardInterrupt; the rollback runs with them held back, then the interrupt goes on).

Clocks: everything is on the wall clock (``time.time()``), like the load's per-second
series, so fault windows and load windows line up; journal times are seconds since the
method started.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from harness.chaos.actions import ActionRecord, BurstFault, build_fault
from harness.chaos.checks import (
    CheckResult,
    ProbeRunner,
    abort_breached,
    judge_slo,
    window_metric,
)
from harness.chaos.errors import GameDayError, ScenarioError
from harness.chaos.outcome import GameDayResult, decide
from harness.chaos.reports import write_reports
from harness.chaos.rollback import Rollback, RollbackReport
from harness.chaos.scenario import (
    Burst,
    Scenario,
    fleet_problems,
    invariant_problems,
    load_scenario,
    located,
)
from harness.config import HarnessConfig, load_config
from harness.errors import HarnessError, SpecIssue
from harness.faults.base import ReversibleFault
from harness.fleet import signals
from harness.fleet.graph import derive_edges
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import Manifest, load_manifest
from harness.httpbody import describe_body
from harness.invariants import InvariantContext, InvariantRegistry, load_invariants
from harness.invariants import registry as default_registry
from harness.load import templates
from harness.load.plan import LIVE_SERIES_FILE, SERIES_FILE
from harness.load.profiles import LoadProfile, Stage, load_profile
from harness.load.runner import read_status
from harness.load.session import run_profile
from harness.project import Project
from harness.yamlsource import Problem

Progress = Callable[[dict[str, Any]], None]
DEFAULT_SUBDIR = "chaos"
# Seconds the live series lags the wall clock: the locustfile rewrites it every second,
# and a distributed master merges its workers' seconds every few.
_LAG_LOCAL = 2.0
_LAG_DISTRIBUTED = 5.0
_LOAD_START_TIMEOUT = 60.0
_TICK = 0.05


class _Aborted(Exception):
    def __init__(self, reason: str, details: dict[str, Any]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


def validate(
    scenario: Scenario | str | Path,
    *,
    config: HarnessConfig | None = None,
    project: Project | None = None,
    manifest: Manifest | None = None,
    registry: InvariantRegistry | None = None,
    containers: bool | None = None,
) -> Scenario:
    """Everything checkable before anything starts; :class:`ScenarioError` otherwise.

    ``containers``: whether the fleet runs its services as containers (None: as the
    configuration's ``fleet_backend`` says)."""
    spec = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    resolved = config or (project.config if project is not None else load_config())
    fleet_manifest = (
        manifest
        or (project.manifest if project is not None else None)
        or load_manifest(resolved.manifest)
    )
    edges = [edge.name for edge in derive_edges(fleet_manifest)]
    if containers is None:
        containers = resolved.fleet_backend == "docker"
    issues = fleet_problems(
        spec, fleet_manifest.services, edges, fleet_manifest.infra, containers=containers
    )
    chosen = registry or default_registry
    if spec.invariants is not None:
        load_invariants(spec.invariants, root=resolved.root)
    issues += invariant_problems(spec, chosen.names, chosen.eventual)
    if spec.load is not None:
        profile = load_profile(spec.load.profile)
        if profile.target is not None and profile.target not in fleet_manifest.services:
            issues += _issue(spec, ("load", "profile"), f"targets unknown '{profile.target}'")
        names = {task.name for task in profile.tasks}
        for index, slo in enumerate(spec.steady_state.slo):
            if slo.endpoint != "*" and profile.tasks and slo.endpoint not in names:
                issues += _issue(
                    spec,
                    ("steady_state", "slo", index, "endpoint"),
                    f"no task '{slo.endpoint}' in {Path(spec.load.profile).name} "
                    f"(tasks: {', '.join(sorted(names))})",
                )
    if issues:
        raise ScenarioError(sorted(issues, key=lambda issue: issue.line))
    return spec


def _issue(spec: Scenario, loc: tuple[str | int, ...], message: str) -> list[SpecIssue]:
    return located(str(spec.path or spec.name), [Problem(loc, message)])


def load_for(spec: Scenario) -> LoadProfile | None:
    """The scenario's load profile with its overrides, long enough for the whole game-day
    (it is stopped as soon as the recovery is judged); thresholds, comparison and expect
    dropped."""
    if spec.load is None:
        return None
    profile = load_profile(spec.load.profile)
    checks = spec.steady_state.check
    warmup = spec.load.warmup if spec.load.warmup is not None else profile.warmup
    span = (
        warmup
        + (checks.before.window if checks.before else 0.0)
        + spec.method_span
        + (checks.after.within + checks.after.window if checks.after else 0.0)
        + 2 * _LAG_DISTRIBUTED
        + 10.0
    )
    span = min(span, spec.abort.max_duration + warmup)
    users = spec.load.users or profile.peak_users or 1
    spawn = spec.load.spawn_rate or profile.spawn_rate or float(users)
    stage = Stage(duration=span, users=users, spawn_rate=spawn)
    updated: dict[str, Any] = {
        "stages": [stage],
        "warmup": warmup,
        "thresholds": {},
        "compare": None,
        "expect": None,  # the game-day's checks judge the load, not the profile's gate
    }
    if profile.open_model:
        updated["stages"] = [Stage(duration=span, rate=profile.stages[-1].rate)]
    if spec.load.workers is not None:
        updated["workers"] = spec.load.workers
    copy = profile.model_copy(update=updated)
    copy._path = profile.path
    return copy


def default_report_dir(spec: Scenario, config: HarnessConfig | None) -> Path:
    base = config.report_dir if config is not None else Path("reports").resolve()
    return base / DEFAULT_SUBDIR / spec.name


@contextmanager
def _fleet_for(fleet: Fleet | None, config: HarnessConfig, project: Project) -> Iterator[Fleet]:
    if fleet is not None:
        yield fleet
        return
    # Our own fleet keeps its logs (the journal points at them); a given one is the caller's.
    keeping = Project(dataclasses.replace(config, keep_logs=True), project.manifest)
    with keeping.launch() as started:
        yield started


class _LoadThread:
    """run_profile in a thread of its own, stoppable, with its live series readable."""

    def __init__(self, profile: LoadProfile, fleet: Fleet, out: Path) -> None:
        self.profile = profile
        self.out = out
        self.raw = out / "raw"
        self.stop = threading.Event()
        self.running = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.lag = _LAG_DISTRIBUTED if profile.workers > 0 else _LAG_LOCAL

        def on_status(status: dict[str, Any]) -> None:
            if status.get("phase") in ("running", "aborting", "done"):
                self.running.set()

        def work() -> None:
            try:
                self.result = run_profile(
                    profile,
                    fleet=fleet,
                    report_dir=out,
                    on_status=on_status,
                    step_summary=False,
                    live_series=True,
                    stop=self.stop,
                )
            except BaseException as exc:  # re-raised in the game-day's thread
                self.error = exc
            finally:
                self.running.set()

        self.thread = threading.Thread(target=work, name="gameday-load", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def wait_running(self, timeout: float) -> None:
        if not self.running.wait(timeout):
            raise GameDayError(f"the load did not start within {timeout:g} s")
        if self.error is not None:
            raise GameDayError(f"the load failed: {self.error}") from self.error
        if not self.thread.is_alive() and self.result is None:
            raise GameDayError("the load ended before it ran")

    def live(self) -> dict[str, Any]:
        return read_status(self.raw / LIVE_SERIES_FILE) or {}

    def finish(self) -> None:
        self.stop.set()
        self.thread.join()

    def final(self) -> dict[str, Any]:
        return read_status(self.raw / SERIES_FILE) or self.live()


class _GameDay:
    """The state of one run; :func:`run_gameday` drives it."""

    def __init__(
        self,
        spec: Scenario,
        fleet: Fleet,
        out: Path,
        registry: InvariantRegistry,
        progress: Progress | None,
        *,
        enforce_timing: bool = True,
    ) -> None:
        self.spec = spec
        self.enforce_timing = enforce_timing
        self.fleet = fleet
        self.out = out
        self.progress = progress
        self.checks: list[CheckResult] = []
        self.records = [ActionRecord.of(i, a) for i, a in enumerate(spec.method)]
        self.faults: list[tuple[str, ReversibleFault]] = []
        self.by_action: dict[int, ReversibleFault] = {}
        self.slo_windows: list[tuple[str, float, float]] = []  # phase, start, end (wall)
        self.t0: float | None = None
        self.load: _LoadThread | None = None
        self.recovered_after: float | None = None
        self.recovered = spec.steady_state.check.after is None
        self.checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gameday-checks")
        self.passes: list[Future[list[CheckResult]]] = []
        run_id = uuid.uuid4().hex[:8]  # a fresh namespace for this run's data
        variables = {"run_id": run_id}
        variables.update({k: templates.render(v, variables) for k, v in spec.vars.items()})
        urls = {name: svc.url for name, svc in fleet.services.items()}
        self.probes = ProbeRunner(
            urls=urls,
            registry=registry,
            variables=variables,
            context=InvariantContext(urls),
            enforce_timing=enforce_timing,
        )

    def emit(self, kind: str, **data: Any) -> None:
        if self.progress is not None:
            self.progress({"kind": kind, "t": self.rel(time.time()), **data})

    def rel(self, wall: float) -> float:
        return wall - self.t0 if self.t0 is not None else 0.0

    # --- the phases ----------------------------------------------------------------------

    def setup(self) -> None:
        for index, request in enumerate(self.spec.setup):
            response = self.probes.request(request)
            if response.status_code not in request.expect_status:
                raise GameDayError(
                    f"setup[{index}] {request.method} {request.service}{request.path} "
                    f"answered {response.status_code}: {describe_body(response)}"
                )
            self.probes.remember(request.remember, response)
            try:
                self.probes.save(request.save, response)
            except (KeyError, ValueError) as exc:
                raise GameDayError(f"setup[{index}]: save {exc}") from exc

    def start_load(self, profile: LoadProfile | None) -> None:
        if profile is None:
            return
        self.load = _LoadThread(profile, self.fleet, self.out / "load")
        self.load.start()
        self.emit("phase", phase="load starting", users=profile.peak_users)
        self.load.wait_running(_LOAD_START_TIMEOUT + profile.warmup)

    def run_probes(self, phase: str, at_s: float) -> list[CheckResult]:
        found = [
            self.probes.run(probe, phase, at_s)
            for probe in self.spec.steady_state.probes
            if phase in probe.when
        ]
        for result in found:
            self.emit("check", result=str(result), ok=result.ok)
        return found

    def judge_live(self, phase: str, start: float, end: float) -> list[CheckResult]:
        """SLOs over [start, end) once the live series has those seconds."""
        if self.load is None:
            return []
        self._sleep_until(end + self.load.lag)
        recorded = self.load.live()
        origin = self.t0 if self.t0 is not None else end
        found = [
            judge_slo(slo, recorded, phase, start, end, origin, enforce_timing=self.enforce_timing)
            for slo in self.spec.steady_state.slo
            if phase in slo.when
        ]
        for result in found:
            self.emit("check", result=str(result), ok=result.ok)
        return found

    def before(self) -> bool:
        plan = self.spec.steady_state.check.before
        if plan is None:
            return True
        self.emit("phase", phase="before")
        began = time.time()
        self._sleep_until(began + plan.window)
        now = time.time()
        results = self.run_probes("before", 0.0)
        results += self.judge_live("before", now - plan.window, now)
        self.checks += results
        return all(r.ok for r in results)

    def method(self) -> None:
        self.t0 = time.time()
        self.emit("phase", phase="during")
        plan = self.spec.steady_state.check.during
        every = plan.every if plan is not None else None
        events: list[tuple[float, int, int]] = []  # (t, order, index): ends before starts
        for index, action in enumerate(self.spec.method):
            events.append((action.at, 1, index))
            if action.duration is not None:
                events.append((action.end, 0, index))
        events.sort()
        span = self.spec.method_span
        next_tick = every if every is not None else None
        breaches: dict[int, int] = {}
        deadline = self.spec.abort.max_duration
        while events or (next_tick is not None and next_tick <= span):
            upcoming = [events[0][0]] if events else []
            if next_tick is not None and next_tick <= span:
                upcoming.append(next_tick)
            when = min(upcoming)
            self._sleep_until(self.t0 + when)
            while events and events[0][0] <= when:
                _at, order, index = events.pop(0)
                if order == 1:
                    self._inject(index)
                else:
                    self._revert(index)
            if next_tick is not None and next_tick <= when:
                self._during_check(next_tick, every or 0.0, breaches)
                next_tick += every or 0.0
            if self.rel(time.time()) > deadline:
                raise _Aborted(
                    f"ran past max_duration {deadline:g}s", {"at_s": self.rel(time.time())}
                )
        # Faults without a duration last until the method ends.
        for index, action in enumerate(self.spec.method):
            if action.duration is None and index in self.by_action:
                self._revert(index)

    def _during_check(self, tick: float, every: float, breaches: dict[int, int]) -> None:
        assert self.t0 is not None
        # Probes run on a thread of their own, one pass at a time: a slow probe (that is
        # what faults cause) must not delay the faults' timeline.
        self.passes.append(
            self.checker.submit(lambda: self.run_probes("during", self.rel(time.time())))
        )
        self.slo_windows.append(("during", self.t0 + tick - every, self.t0 + tick))
        if self.load is None or not self.spec.abort.when:
            return
        recorded = self.load.live()
        end = self.t0 + tick - self.load.lag
        for index, rule in enumerate(self.spec.abort.when):
            seen = abort_breached(rule, recorded, end - every, end)
            breaches[index] = breaches.get(index, 0) + 1 if seen is not None else 0
            if breaches[index] >= rule.for_windows:
                raise _Aborted(
                    f"abort: {rule.label} (observed {seen:.4g})",
                    {"rule": rule.label, "observed": seen, "at_s": tick},
                )

    def _inject(self, index: int) -> None:
        assert self.t0 is not None
        action = self.spec.method[index]
        record = self.records[index]
        record.started_s = self.rel(time.time())
        self.emit("action", action=action.label, state="start")
        try:
            fault = build_fault(self.fleet, action.fault, self._sender)
            self.faults.append((action.label, fault))
            fault.inject()
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            raise GameDayError(f"method[{index}] {action.label}: {record.error}") from exc
        self.by_action[index] = fault
        record.active_s = self.rel(time.time())

    def _sender(self, burst: Burst) -> Callable[[], httpx.Response]:
        return lambda: self.probes.request(burst.request)

    def _revert(self, index: int) -> None:
        fault = self.by_action.pop(index, None)
        record = self.records[index]
        if fault is None:
            return
        if isinstance(fault, BurstFault):
            fault.revert()
            problems = fault.problems()
            self.checks.append(
                CheckResult(
                    check=f"{record.label}: never a 5xx, throttled with Retry-After",
                    kind="probe",
                    phase="during",
                    at_s=self.rel(time.time()),
                    ok=not problems,
                    observed=fault.summary(),
                    expected="only allowed statuses, Retry-After on each throttled answer",
                    message="; ".join(problems),
                )
            )
        self.emit("action", action=record.label, state="revert")
        try:
            fault.revert()
        except Exception as exc:  # the rollbacks try again; the journal says what happened
            record.error = f"revert: {type(exc).__name__}: {exc}"
        record.ended_s = self.rel(time.time())
        steps = getattr(fault, "revert_steps", [])
        record.revert_steps = [step.to_json() for step in steps]

    def collect_passes(self) -> None:
        """The during checks' results, once every pass has finished."""
        for future in self.passes:
            try:
                self.checks += future.result()
            except Exception as exc:  # a probe runner crash is an error of the checks
                self.checks.append(
                    CheckResult(
                        "checks", "probe", "during", 0.0, False, message=str(exc), error=True
                    )
                )
        self.passes = []
        self.checker.shutdown(wait=True)

    def after(self) -> None:
        plan = self.spec.steady_state.check.after
        if plan is None:
            return
        assert self.t0 is not None
        self.emit("phase", phase="after")
        began = time.time()
        bound = began + plan.within
        during = self.spec.steady_state.check.during
        every = during.every if during is not None else 2.0
        last: list[CheckResult] = []
        while True:
            now = time.time()
            last = self.run_probes("after", self.rel(now))
            if all(check.ok for check in last):
                # Probes hold again: the load of the next window is judged from now, and
                # the probes once more at its end (steady means it stays so: a late effect,
                # a redelivered event, shows only after a while).
                last += self.judge_live("after", now, now + plan.window)
                self._sleep_until(now + plan.window)
                last += self.run_probes("after", self.rel(time.time()))
            if all(check.ok for check in last):
                self.recovered = True
                self.recovered_after = now - began
                break
            if time.time() + min(every, 2.0) > bound:
                break
            self._sleep_until(time.time() + min(every, 2.0))
        self.checks += last

    def _sleep_until(self, wall: float) -> None:
        while True:
            left = wall - time.time()
            if left <= 0:
                return
            if self.load is not None and self.load.error is not None:
                raise GameDayError(f"the load failed: {self.load.error}")
            time.sleep(min(left, 0.25))

    # --- after the run -------------------------------------------------------------------

    def judge_windows(self, recorded: dict[str, Any]) -> None:
        """The during windows' SLOs, on the final series (exact, no lag)."""
        assert self.t0 is not None
        for phase, start, end in self.slo_windows:
            for slo in self.spec.steady_state.slo:
                if phase in slo.when:
                    self.checks.append(
                        judge_slo(
                            slo,
                            recorded,
                            phase,
                            start,
                            end,
                            self.t0,
                            enforce_timing=self.enforce_timing,
                        )
                    )

    def phase_stats(self, recorded: dict[str, Any]) -> dict[str, Any]:
        origin = self.t0 or 0.0
        windows: list[tuple[str, float, float]] = []
        before = self.spec.steady_state.check.before
        if before is not None:
            windows.append(("before", origin - before.window, origin))
        for record in self.records:
            if record.started_s is not None:
                end = record.ended_s if record.ended_s is not None else self.spec.method_span
                if end - record.started_s >= 1:
                    windows.append(
                        (f"during: {record.label}", origin + record.started_s, origin + end)
                    )
        if self.recovered_after is not None:
            after = self.spec.steady_state.check.after
            assert after is not None
            start = origin + self.spec.method_span + self.recovered_after
            windows.append(("after", start, start + after.window))
        stats: dict[str, Any] = {}
        for label, start, end in windows:
            row: dict[str, Any] = {"window_s": [round(start - origin, 3), round(end - origin, 3)]}
            for metric in ("requests", "rps", "error_rate", "p50_ms", "p95_ms", "p99_ms"):
                row[metric], _ = window_metric(recorded, metric, "*", start, end)
            stats[label] = row
        return stats


def run_gameday(
    scenario: Scenario | str | Path,
    *,
    fleet: Fleet | None = None,
    config: HarnessConfig | None = None,
    project: Project | None = None,
    report_dir: Path | None = None,
    registry: InvariantRegistry | None = None,
    on_progress: Progress | None = None,
    step_summary: bool = True,
) -> GameDayResult:
    """Run a game-day and write its journal and reports; the result carries the verdict.

    The fleet is ``fleet`` when given (left running), else one started from ``project``
    (or from ``config``'s manifest) for this game-day. Raises :class:`ScenarioError` on bad
    input (nothing started). Ctrl-C and SIGTERM propagate as KeyboardInterrupt once the
    rollbacks are done and the journal written.
    """
    resolved = config or (project.config if project is not None else load_config())
    if fleet is not None:
        project = Project(resolved, fleet.manifest)
    elif project is None:
        project = Project.load(resolved)
    chosen = registry or default_registry
    spec = validate(
        scenario,
        config=resolved,
        manifest=project.manifest,
        registry=chosen,
        containers=(fleet.containers is not None) if fleet is not None else None,
    )
    profile = load_for(spec)
    out = (report_dir or default_report_dir(spec, resolved)).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    error: str | None = None
    aborted: dict[str, Any] | None = None
    interrupted: BaseException | None = None
    rollback = RollbackReport()
    day: _GameDay | None = None
    recorded: dict[str, Any] = {}
    logs: str | None = None
    with signals.sigterm_raises():
        try:
            with _fleet_for(fleet, resolved, project) as running:
                logs = str(running.keep_logs or running.workdir / "logs")
                day = _GameDay(
                    spec,
                    running,
                    out,
                    chosen,
                    on_progress,
                    enforce_timing=resolved.chaos.timing == "enforce",
                )
                try:
                    day.setup()
                    day.start_load(profile)
                    if day.before():
                        day.method()
                        day.collect_passes()
                        day.after()
                except _Aborted as exc:
                    aborted = {"reason": exc.reason, **exc.details}
                except KeyboardInterrupt as exc:
                    interrupted = exc
                    error = f"interrupted ({exc or 'Ctrl-C'}): rolled back"
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                finally:
                    with signals.deferred() as held:
                        rollback = _finish(day, running, on_progress)
                        day.collect_passes()
                        if day.load is not None:
                            recorded = day.load.final()
                        day.probes.close()
                    if held and interrupted is None:
                        interrupted = KeyboardInterrupt()
        except KeyboardInterrupt as exc:
            interrupted = interrupted or exc
            error = error or "interrupted: rolled back"
        except HarnessError as exc:
            if isinstance(exc, ScenarioError):
                raise
            error = error or f"{type(exc).__name__}: {exc}"
    if day is not None and day.t0 is not None and recorded:
        day.judge_windows(recorded)
    checks = day.checks if day is not None else []
    verdict, reason = decide(
        checks,
        aborted=aborted["reason"] if aborted else None,
        error=error,
        rollback=rollback,
        recovered=day.recovered if day is not None else False,
    )
    result = GameDayResult(
        scenario=spec.name,
        path=str(spec.path) if spec.path else None,
        verdict=verdict,
        reason=reason,
        checks=checks,
        actions=day.records if day is not None else [],
        rollback=rollback,
        load=(
            {"phases": day.phase_stats(recorded), "report_dir": str(out / "load")}
            if day is not None and recorded and day.t0 is not None
            else None
        ),
        abort=aborted,
        recovered_after_s=day.recovered_after if day is not None else None,
        started_at=started,
        method_started_at=day.t0 if day is not None else None,
        ended_at=time.time(),
        logs=logs,
        scenario_data=spec.model_dump(mode="json", by_alias=True),
    )
    write_reports(result, out, recorded, step_summary=step_summary)
    if interrupted is not None:
        raise interrupted
    return result


def _finish(day: _GameDay | None, fleet: Fleet, progress: Progress | None) -> RollbackReport:
    """Stop the load, then roll back; never raises."""
    if day is not None and day.load is not None:
        with contextlib.suppress(Exception):
            day.load.finish()

    def step(rollback_step: Any) -> None:
        if progress is not None:
            t = day.rel(time.time()) if day is not None else 0.0
            event = {"kind": "rollback", "t": t, "step": rollback_step.action}
            progress({**event, "ok": rollback_step.ok})

    faults = day.faults if day is not None else []
    report = Rollback(fleet, on_step=step).run(faults)
    if day is not None:
        for index, record in enumerate(day.records):
            fault = day.by_action.get(index)
            if record.ended_s is None and fault is not None:
                record.ended_s = day.rel(time.time())
                record.revert_steps = [s.to_json() for s in getattr(fault, "revert_steps", [])]
    return report


__all__ = [
    "DEFAULT_SUBDIR",
    "Progress",
    "default_report_dir",
    "load_for",
    "run_gameday",
    "validate",
]
