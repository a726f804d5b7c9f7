"""A fuzz session over a running fleet: open the services, plan the targets, run them.

Used by both adapters: ``harness fuzz`` runs every target in turn; the pytest plugin makes
one item per target and runs each in its test. Either way the results gather in one
:class:`~harness.fuzz.findings.FuzzRun` for the reports.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.fleet.lifecycle import Fleet
from harness.fuzz.baseline import Baseline
from harness.fuzz.conformance import ConformanceChecker
from harness.fuzz.errors import FuzzInputError
from harness.fuzz.findings import FuzzRun, TargetResult
from harness.fuzz.fleetenv import with_env
from harness.fuzz.reports import ReportFiles, write_reports
from harness.fuzz.schemathesis_engine import ServiceFuzzer
from harness.fuzz.seeds import Seed
from harness.fuzz.settings import FuzzSettings, load_settings
from harness.fuzz.targets import (
    FuzzTarget,
    RunningFleet,
    ServiceTarget,
    open_service,
    plan_targets,
    require_services,
    require_targets,
)
from harness.invariants import load_invariants
from harness.project import Project


def launch_for_fuzzing(
    project: Project, settings: FuzzSettings, services: Collection[str] | None = None
) -> Fleet:
    """Start the fleet (or ``services`` and what they need) with fuzz.yaml's overrides."""
    manifest = with_env(project.manifest, settings.env_overrides())
    return project.launch(
        manifest=manifest, services=services or None, proxied=settings.spec.proxied
    )


def replay_command(
    seed: Seed,
    *,
    services: Iterable[str] = (),
    operations: Iterable[str] = (),
    max_examples: int | None = None,
) -> str:
    parts = ["harness", "fuzz", "--seed", str(seed.value)]
    for service in services:
        parts += ["--service", service]
    for operation in operations:
        parts += ["--operation", operation]
    if max_examples is not None:
        parts += ["--max-examples", str(max_examples)]
    return shlex.join(parts)


class FuzzSession:
    """Targets of a running fleet and the results of running them.

    :meth:`open` fetches every service's OpenAPI (and tokens) and plans the targets;
    :meth:`run` runs one, classifies its findings against the baseline and records it.
    """

    def __init__(
        self,
        fleet: RunningFleet,
        settings: FuzzSettings,
        *,
        seed: Seed,
        max_examples: int | None = None,
        baseline: Baseline | None = None,
        services: Collection[str] | None = None,
        operations: Collection[str] | None = None,
    ) -> None:
        self.fleet = fleet
        self.settings = settings
        self.seed = seed
        self.max_examples = max_examples or settings.spec.max_examples
        self.baseline = baseline if baseline is not None else Baseline.load(settings.baseline)
        self.only_services = list(services or [])
        self.only_operations = list(operations or [])
        self.services: dict[str, ServiceTarget] = {}
        self.targets: list[FuzzTarget] = []
        self._fuzzers: dict[str, ServiceFuzzer] = {}
        self._http = httpx.Client(timeout=settings.spec.request_timeout, trust_env=False)
        self.run_record = FuzzRun(
            seed=seed,
            max_examples=self.max_examples,
            baseline=str(self.baseline.path) if self.baseline.path else None,
        )

    def open(self) -> list[FuzzTarget]:
        names = require_services(self.fleet.manifest, self.settings, self.only_services)
        self.services = {
            name: open_service(self.fleet, name, self.settings, self._http) for name in names
        }
        targets = planned = require_targets(
            plan_targets(self.services.values(), self.settings),
            self.services.values(),
            self.settings,
        )
        if self.only_operations:
            targets = [t for t in planned if t.operation in self.only_operations]
            if not targets:
                wanted = ", ".join(self.only_operations)
                known = ", ".join(sorted({t.operation for t in planned if t.method is not None}))
                raise FuzzInputError(f"no operation matches {wanted} (operations: {known})")
        self.targets = targets
        self.run_record.replay = replay_command(
            self.seed,
            services=self.only_services,
            operations=self.only_operations,
            max_examples=self.max_examples,
        )
        return targets

    def replay_for(self, target: FuzzTarget) -> str:
        operations = [] if target.method is None else [target.operation]
        return replay_command(
            self.seed,
            services=[target.service],
            operations=operations,
            max_examples=self.max_examples,
        )

    def _fuzzer(self, service: str) -> ServiceFuzzer:
        fuzzer = self._fuzzers.get(service)
        if fuzzer is None:
            fuzzer = ServiceFuzzer(
                self.services[service],
                self.settings,
                seed=self.seed,
                max_examples=self.max_examples,
            )
            self._fuzzers[service] = fuzzer
        return fuzzer

    def run(self, target: FuzzTarget) -> TargetResult:
        fuzzer = self._fuzzer(target.service)
        if target.check is not None:
            # After the service's Schemathesis targets, on the requests they saw succeed.
            checker = ConformanceChecker(
                self.fleet,
                self.services[target.service],
                self.settings,
                fuzzer.exemplars,
                self._http,
            )
            result = checker.run(target)
        else:
            result = fuzzer.run(target)
        result.findings = self.baseline.classify(result.findings)
        self.run_record.results.append(result)
        self.run_record.seconds += result.seconds
        return result

    def run_all(self, progress: Callable[[TargetResult], None] | None = None) -> FuzzRun:
        began = time.perf_counter()
        for target in self.targets:
            result = self.run(target)
            if progress is not None:
                progress(result)
        self.run_record.seconds = time.perf_counter() - began
        return self.run_record

    def update_baseline(self, path: Path | None = None) -> Path:
        """Rewrite the baseline with every failure of this run (reasons kept)."""
        findings = [f for r in self.run_record.results for f in r.findings]
        return self.baseline.updated(findings).save(path)

    def close(self) -> None:
        self._http.close()


@dataclass(frozen=True)
class FuzzOutcome:
    run: FuzzRun
    reports: ReportFiles
    baseline_written: Path | None = None


_METHODS = {"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}


def check_operations(operations: Iterable[str]) -> None:
    """Each ``operation`` reads ``METHOD /path`` (InputError otherwise, before anything starts)."""
    for operation in operations:
        method, _, path = operation.partition(" ")
        if method.upper() not in _METHODS or not path.startswith("/") or " " in path.strip():
            raise FuzzInputError(
                f"--operation {operation!r}: expected 'METHOD /path', e.g. 'GET /stock/{{sku}}'"
            )


def prepare(
    project: Project,
    *,
    settings_file: Path | None = None,
    baseline: Path | None = None,
    services: Collection[str] = (),
    operations: Collection[str] = (),
) -> tuple[FuzzSettings, Baseline]:
    """Read and check every input before anything starts (bad input: nothing runs):
    fuzz.yaml, its invariant modules, the baseline, the services and operations asked for.

    A manifest that leaves no service to fuzz (``services`` narrows it) is bad input too:
    :class:`~harness.fuzz.errors.NothingToFuzz`, before the fleet starts."""
    config = project.config
    manifest = project.manifest
    settings = load_settings(
        config.root,
        path=settings_file or config.fuzz.settings,
        services=list(manifest.services),
        required=settings_file is not None or config.given("fuzz.settings"),
    )
    for module in settings.spec.invariants:
        load_invariants(module, root=config.root)
    require_services(manifest, settings, services)
    check_operations(operations)
    return settings, Baseline.load(baseline or settings.baseline)


def run_fuzz(
    project: Project,
    settings: FuzzSettings,
    baseline: Baseline,
    *,
    seed: Seed,
    services: Collection[str] = (),
    operations: Collection[str] = (),
    max_examples: int | None = None,
    report_dir: Path | None = None,
    update_baseline: bool = False,
    on_plan: Callable[[FuzzSession], None] | None = None,
    on_result: Callable[[TargetResult], None] | None = None,
) -> FuzzOutcome:
    """``harness fuzz``: start the fleet, fuzz every target, write the reports, stop.

    ``settings`` and ``baseline`` come from :func:`prepare`, which checks every input first.
    """
    config = project.config
    fleet = launch_for_fuzzing(project, settings, services)
    session = FuzzSession(
        fleet,
        settings,
        seed=seed,
        max_examples=max_examples,
        baseline=baseline,
        services=services,
        operations=operations,
    )
    try:
        session.open()
        if on_plan is not None:
            on_plan(session)
        run = session.run_all(on_result)
        written = session.update_baseline() if update_baseline else None
    finally:
        session.close()
        fleet.close()
    files = write_reports(run, report_dir or config.report_dir / "fuzz")
    return FuzzOutcome(run, files, written)
