"""The result of a load run: statistics, threshold verdicts, the baseline comparison, and
the run's overall verdict (passed, thresholds failed, aborted, regression, error).

Failed thresholds win over regressions: a run that is both is "thresholds failed". The exit
code each verdict gives ``harness load`` is the CLI's business (:mod:`harness.cli.exits`).
A run that measured no request at all is "no requests", whatever its thresholds say: zero
work is not a pass (:attr:`LoadResult.no_work` gives the reason).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.load.compare import Comparison, compare
from harness.load.errors import LoadBaselineError
from harness.load.profiles import LoadProfile
from harness.load.runstats import RunStats
from harness.load.series import Timeline, intervals
from harness.load.thresholds import Measures, Threshold, ThresholdResult, evaluate_all

REPORT_FORMAT = "harness.load.report/1"

PASSED = "passed"
THRESHOLDS_FAILED = "thresholds failed"
ABORTED = "aborted"
REGRESSION = "regression"
ERROR = "error"
NO_REQUESTS = "no requests"

# Locust wraps a failure we set with catch_response in the exception's repr.
_WRAPPED = re.compile(r"^CatchResponseError\((['\"])(.*)\1\)$", re.DOTALL)


@dataclass(frozen=True)
class ErrorCount:
    method: str
    name: str
    error: str
    occurrences: int

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class Abort:
    threshold: str
    observed: float
    at_s: float

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class Baseline:
    path: str
    stats: RunStats
    dropped_iterations: int
    info: Mapping[str, Any]


def load_baseline(path: Path) -> Baseline:
    """A stored report (``report.json`` of an earlier run) as a baseline."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LoadBaselineError(f"{path}: cannot read the baseline: {exc.strerror}") from None
    except ValueError as exc:
        raise LoadBaselineError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        raise LoadBaselineError(f"{path}: not a harness load report (format {REPORT_FORMAT})")
    if data.get("verdict") in (ERROR, NO_REQUESTS) or "stats" not in data:
        raise LoadBaselineError(
            f"{path}: the baseline run has no statistics (it ended in an error)"
        )
    git = data.get("git") or {}
    info = {
        "path": str(path),
        "profile": data.get("profile", {}).get("name"),
        "commit": git.get("commit"),
        "branch": git.get("branch"),
        "started": data.get("run", {}).get("started"),
        "verdict": data.get("verdict"),
    }
    return Baseline(
        path=str(path),
        stats=RunStats.from_json(data["stats"]),
        dropped_iterations=int(data.get("run", {}).get("dropped_iterations", 0)),
        info=info,
    )


def error_counts(raw: list[dict[str, Any]]) -> list[ErrorCount]:
    counts = []
    for item in raw:
        text = str(item.get("error", ""))
        match = _WRAPPED.match(text)
        counts.append(
            ErrorCount(
                method=str(item.get("method") or ""),
                name=str(item.get("name") or ""),
                error=match.group(2) if match else text,
                occurrences=int(item.get("occurrences", 0)),
            )
        )
    return sorted(counts, key=lambda e: (-e.occurrences, e.name, e.error))


@dataclass
class LoadResult:
    profile: LoadProfile
    stats: RunStats
    timeline: Timeline
    thresholds: list[ThresholdResult]
    errors: list[ErrorCount]
    run: dict[str, Any]
    facts: dict[str, Any]
    git: dict[str, Any]
    abort: Abort | None = None
    comparison: Comparison | None = None
    baseline_thresholds: dict[str, float | None] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    locust_figures: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_thresholds(self) -> list[ThresholdResult]:
        return [t for t in self.thresholds if not t.passed]

    @property
    def regressions(self) -> int:
        return len(self.comparison.regressions) if self.comparison else 0

    @property
    def no_work(self) -> str | None:
        """Why the run measured no request at all (None when it measured some).

        Thresholds cannot judge a run without requests (k6 passes them; we do not), so such a
        run fails with this reason, whatever its thresholds say."""
        if self.stats.total.requests:
            return None
        run = self.run
        if not run.get("peak_users"):
            why = "no user started"
        elif run.get("skipped_tasks"):
            skipped = ", ".join(f"{n}: {c}" for n, c in sorted(run["skipped_tasks"].items()))
            why = f"every task was skipped, waiting for a value no response saved ({skipped})"
        elif run.get("dropped_iterations"):
            why = f"every arrival was dropped ({run['dropped_iterations']} dropped iterations)"
        elif run.get("exceptions"):
            why = f"user code raised: {run['exceptions'][0].get('msg', '?')}"
        else:
            why = "the users sent no request (a locustfile whose tasks make none?)"
        if run.get("warmup_s"):
            why += f"; requests during the {run['warmup_s']:g} s warm-up are not counted"
        return f"no request was measured: {why}"

    @property
    def verdict(self) -> str:
        if self.no_work is not None:
            return NO_REQUESTS
        if self.abort is not None:
            return ABORTED
        if self.failed_thresholds:
            return THRESHOLDS_FAILED
        if self.regressions:
            return REGRESSION
        return PASSED

    @property
    def passed(self) -> bool:
        return self.verdict == PASSED

    def threshold(self, id_or_text: str) -> ThresholdResult:
        """A threshold's result by its id (``http_req_duration: p(95)<300``) or condition."""
        for result in self.thresholds:
            if id_or_text in (result.threshold.id, result.threshold.condition.text):
                return result
        known = ", ".join(r.threshold.id for r in self.thresholds)
        raise KeyError(f"no threshold '{id_or_text}' (thresholds: {known})")

    def summary(self) -> str:
        """One paragraph for a terminal or an assertion message."""
        lines = [
            f"load profile {self.profile.name}: {self.verdict} "
            f"({len(self.thresholds) - len(self.failed_thresholds)}/{len(self.thresholds)} "
            f"thresholds passed, {self.regressions} regressions, "
            f"{self.stats.total.requests} requests in {self.stats.duration_s:.1f} s)"
        ]
        if self.no_work is not None:
            lines.append(self.no_work)
        if self.abort is not None:
            lines.append(
                f"aborted at {self.abort.at_s:.1f} s: {self.abort.threshold} "
                f"(observed {self.abort.observed:g})"
            )
        lines += [f"  {r.describe()}" for r in self.failed_thresholds]
        if self.comparison is not None:
            lines += [
                f"  regression: {c.endpoint} {c.metric} {c.baseline:g} -> {c.now:g} "
                f"({c.delta_text}, limit {c.limit.text if c.limit else '-'})"
                for c in self.comparison.regressions
                if c.now is not None and c.baseline is not None
            ]
        return "\n".join(lines)


def build_result(
    profile: LoadProfile,
    output_stats: list[dict[str, Any]],
    output_result: Mapping[str, Any],
    output_series: Mapping[str, Any],
    *,
    facts: dict[str, Any],
    git: dict[str, Any],
    baseline: Baseline | None = None,
) -> LoadResult:
    """Thresholds, comparison and timeline from the files a Locust run left behind."""
    started = float(output_result.get("started") or 0.0)
    measure_start = float(output_result.get("measure_start") or started)
    stopped = float(output_result.get("stopped") or measure_start)
    duration = max(stopped - measure_start, 0.0)
    stats = RunStats.from_locust(output_stats, duration)
    dropped = int(output_result.get("dropped_iterations", 0))
    thresholds: list[Threshold] = profile.parsed_thresholds()
    results = evaluate_all(thresholds, Measures(stats, dropped))
    abort_raw = output_result.get("abort")
    abort = None
    if abort_raw:
        abort = Abort(
            str(abort_raw["threshold"]),
            float(abort_raw["observed"]),
            float(abort_raw["at"]) - started,
        )
    comparison = None
    baseline_values: dict[str, float | None] = {}
    if baseline is not None:
        comparison = compare(stats, baseline.stats, profile.compare_settings(), baseline.info)
        before = Measures(baseline.stats, baseline.dropped_iterations)
        baseline_values = {r.threshold.id: r.observed for r in evaluate_all(thresholds, before)}
    run: dict[str, Any] = {
        "started": started,
        "measure_start": measure_start,
        "stopped": stopped,
        "duration_s": duration,
        "planned_s": profile.duration,
        "warmup_s": profile.warmup,
        "peak_users": int(output_result.get("peak_users", 0)),
        "workers": int(output_result.get("workers", 0)),
        "dropped_iterations": dropped,
        "skipped_tasks": dict(output_result.get("skipped", {})),
        "locust_exit_code": output_result.get("locust_exit_code"),
        "exceptions": list(output_result.get("exceptions", [])),
    }
    warnings = []
    if output_result.get("client_cpu_warning"):
        warnings.append(
            "Locust's CPU went above 90%: the load generator may have been the bottleneck"
        )
    if run["exceptions"]:
        warnings.append(f"{len(run['exceptions'])} kinds of exceptions in user code (see JSON)")
    if baseline is not None and baseline.info.get("profile") not in (None, profile.name):
        warnings.append(f"the baseline is of another profile ({baseline.info.get('profile')})")
    return LoadResult(
        profile=profile,
        stats=stats,
        timeline=intervals(
            output_series,
            started,
            stopped,
            profile.warmup,
            abort_at=float(abort_raw["at"]) if abort_raw else None,
        ),
        thresholds=results,
        errors=error_counts(list(output_result.get("errors", []))),
        run=run,
        facts=facts,
        git=git,
        abort=abort,
        comparison=comparison,
        baseline_thresholds=baseline_values,
        warnings=warnings,
        locust_figures=dict(output_result.get("locust_figures", {})),
    )
