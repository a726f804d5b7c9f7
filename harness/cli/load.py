"""``harness load PROFILE``: options in, a run with a live display, a verdict and an exit code.

The typer command in :mod:`harness.cli` only declares the options and calls :func:`run_load`.
Exit codes are those of :mod:`harness.load.outcome`: 0 passed, 1 error, 2 bad input,
98 regression against the baseline, 99 thresholds failed (or the run was aborted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from harness.config import HarnessConfig
from harness.errors import ConfigError, HarnessError, SpecError
from harness.fleet import signals
from harness.load.outcome import (
    EXIT_BAD_INPUT,
    EXIT_ERROR,
    PASSED,
    Baseline,
    BaselineError,
    LoadResult,
    load_baseline,
)
from harness.load.profiles import LoadProfile, load_profile
from harness.load.progress import ProgressDisplay
from harness.load.session import default_report_dir, run_profile


@dataclass(frozen=True)
class LoadOptions:
    profile: Path
    baseline: Path | None = None
    report_dir: Path | None = None
    base_url: str | None = None
    workers: int | None = None
    progress: bool = True


def _print_result(result: LoadResult, out: Console) -> None:
    style = "green" if result.verdict == PASSED else "red"
    out.print(f"[bold {style}]{escape(result.summary())}[/]")
    for name in ("markdown", "html", "json", "junit", "plot", "locust_html"):
        if name in result.artifacts:
            out.print(f"  {name}: {result.artifacts[name]}", highlight=False)


def run_load(
    options: LoadOptions,
    *,
    config: Callable[[], HarnessConfig],
    out: Console,
    err: Console,
) -> int:
    """Run the profile; returns the exit code (input errors print ``file:line: field: why``)."""
    try:
        profile = load_profile(options.profile)
        baseline = load_baseline(options.baseline) if options.baseline else None
        resolved = config() if profile.base_url is None and options.base_url is None else None
    except SpecError as exc:
        err.print(f"[bold red]invalid profile:[/]\n{escape(str(exc))}")
        return EXIT_BAD_INPUT
    except (BaselineError, ConfigError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        return EXIT_BAD_INPUT
    report_dir = options.report_dir or default_report_dir(profile, resolved)
    display = ProgressDisplay(err, profile.name) if options.progress else None
    try:
        with signals.sigterm_raises():
            if display is not None:
                with display:
                    result = _run(profile, options, resolved, report_dir, baseline, display)
            else:
                result = _run(profile, options, resolved, report_dir, baseline, None)
    except SpecError as exc:
        err.print(f"[bold red]invalid input:[/]\n{escape(str(exc))}")
        return EXIT_BAD_INPUT
    except HarnessError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        err.print(f"error report: {report_dir / 'report.md'}", highlight=False)
        return EXIT_ERROR
    _print_result(result, out)
    return result.exit_code


def _run(
    profile: LoadProfile,
    options: LoadOptions,
    config: HarnessConfig | None,
    report_dir: Path,
    baseline: Baseline | None,
    display: ProgressDisplay | None,
) -> LoadResult:
    return run_profile(
        profile,
        config=config,
        report_dir=report_dir,
        baseline=baseline,
        base_url=options.base_url,
        workers=options.workers,
        on_status=display,
    )
