"""One load run from start to reports: the entry point for the CLI, the pytest plugin and code.

``run_profile("scenarios/load/checkout-short.yaml")`` resolves the target (a service of a
fleet given or started here from the configured manifest, or a base URL), makes the
profile's setup requests, runs Locust in subprocesses, evaluates thresholds and the
baseline comparison, and writes the reports. Input problems (profile, baseline, unknown
target service) are raised before anything starts.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.config import HarnessConfig, load_config
from harness.errors import HarnessError, SpecError, SpecIssue
from harness.fleet.lifecycle import Fleet
from harness.load.errors import LoadProfileError
from harness.load.hostfacts import git_facts, machine_facts
from harness.load.outcome import Baseline, LoadResult, build_result, load_baseline
from harness.load.plan import compile_plan
from harness.load.profiles import LoadProfile, load_profile
from harness.load.reports import write_error_report, write_reports
from harness.load.runner import StatusCallback, run_locust
from harness.load.setup_steps import run_setup
from harness.project import Project

DEFAULT_SUBDIR = "load"


def default_report_dir(profile: LoadProfile, config: HarnessConfig | None) -> Path:
    base = config.report_dir if config is not None else Path("reports").resolve()
    return base / DEFAULT_SUBDIR / profile.name


def check_target(profile: LoadProfile, project: Project) -> None:
    """A profile targeting an unknown service fails before the fleet is started."""
    manifest, config = project.manifest, project.config
    if profile.target is not None and profile.target not in manifest.services:
        known = ", ".join(sorted(manifest.services))
        raise LoadProfileError(
            [
                SpecIssue(
                    str(profile.path or profile.name),
                    0,
                    "target",
                    f"'{profile.target}' is not a service of {config.manifest} ({known})",
                )
            ]
        )


@contextmanager
def target_url(
    profile: LoadProfile,
    *,
    fleet: Fleet | None = None,
    config: HarnessConfig | None = None,
    project: Project | None = None,
    base_url: str | None = None,
) -> Iterator[str]:
    """The URL load goes to; starts (and afterwards stops) a fleet when none is given."""
    if base_url is not None:
        yield base_url.rstrip("/")
        return
    if profile.base_url is not None:
        yield profile.base_url.rstrip("/")
        return
    assert profile.target is not None
    if fleet is not None:
        yield fleet.url(profile.target)
        return
    found = project or Project.load(config or load_config())
    check_target(profile, found)
    with found.launch() as started:
        yield started.url(profile.target)


def run_profile(
    profile: LoadProfile | str | Path,
    *,
    fleet: Fleet | None = None,
    config: HarnessConfig | None = None,
    project: Project | None = None,
    report_dir: Path | None = None,
    baseline: Path | Baseline | None = None,
    base_url: str | None = None,
    workers: int | None = None,
    on_status: StatusCallback | None = None,
    step_summary: bool = True,
    live_series: bool = False,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Run a profile and write its reports; the :class:`LoadResult` carries the verdict.

    Raises :class:`LoadProfileError` / :class:`BaselineError` on bad input (nothing
    started) and :class:`HarnessError` when the run could not be made (an error report is
    written first, so a pull request still gets a comment saying so).

    ``live_series`` keeps ``raw/harness-series-live.json`` current while the load runs (a
    chaos game-day reads it); setting ``stop`` ends the load early, as a result.
    """
    spec = profile if isinstance(profile, LoadProfile) else load_profile(profile)
    if baseline is None:
        baseline = spec.stored_baseline  # compare.baseline, when the caller names none
    before = load_baseline(baseline) if isinstance(baseline, Path) else baseline
    config = config or (project.config if project is not None else None)
    out = (report_dir or default_report_dir(spec, config)).resolve()
    raw = out / "raw"
    facts = machine_facts()
    git = git_facts(spec.path.parent if spec.path else Path.cwd())
    run_id = uuid.uuid4().hex[:8]
    try:
        with target_url(
            spec, fleet=fleet, config=config, project=project, base_url=base_url
        ) as url:
            facts["target_url"] = url
            plan = compile_plan(
                spec, url, raw, run_id=run_id, workers=workers, live_series=live_series
            )
            run_setup(spec, url, plan.vars, run_id)
            locustfiles = [Path(spec.locustfile)] if spec.locustfile else []
            output = run_locust(
                plan,
                raw,
                html=out / "locust.html",
                locustfiles=locustfiles,
                on_status=on_status,
                stop=stop,
            )
    except SpecError:
        raise
    except HarnessError as exc:
        write_error_report(out, spec.name, str(exc), facts, step_summary=step_summary)
        raise
    result = build_result(
        spec, output.stats, output.result, output.series, facts=facts, git=git, baseline=before
    )
    result.artifacts["raw"] = str(raw)
    if output.html is not None:
        result.artifacts["locust_html"] = str(output.html)
    write_reports(result, out, step_summary=step_summary)
    return result
