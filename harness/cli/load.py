"""``harness load PROFILE``: options in, harness.load.run_profile with a live display, the
LoadResult rendered; the exit code of its verdict comes from harness.cli.exits (0 passed,
1 error, 2 bad input, 98 regression against the baseline, 99 thresholds failed or aborted).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harness.cli.exits import EXIT_FAILED, err, exit_codes, fail, load_exit_code, out
from harness.cli.options import ManifestOption, ProviderOption, project
from harness.cli.progress import ProgressDisplay
from harness.errors import HarnessError, InputError
from harness.extras import require

if TYPE_CHECKING:
    from harness.load.outcome import LoadResult

__all__ = ["load"]


def load(
    profile: Annotated[Path, typer.Argument(help="The load profile (YAML).")],
    baseline: Annotated[
        Path | None, typer.Option(help="A report.json of an earlier run to compare with.")
    ] = None,
    report_dir: Annotated[
        Path | None, typer.Option(help="Where reports go (default: <report_dir>/load/<name>).")
    ] = None,
    manifest: ManifestOption = None,
    provider: ProviderOption = None,
    base_url: Annotated[
        str | None, typer.Option(help="Load this URL instead of the profile's target.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=0, help="Override the profile's Locust workers.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show the live progress line.")] = True,
) -> None:
    """Run a load profile: exit 0 passed, 1 error, 2 bad input, 98 regression, 99 thresholds."""
    with exit_codes():
        require("load", "harness load")
        from harness.load.outcome import load_baseline
        from harness.load.profiles import load_profile
        from harness.load.session import check_target, default_report_dir, run_profile

        spec = load_profile(profile)
        stored = baseline or spec.stored_baseline  # --baseline, else compare.baseline
        before = load_baseline(stored) if stored else None
        # The configuration (and the manifest) only when the run starts a fleet.
        found = None
        if spec.base_url is None and base_url is None:
            found = project(manifest, provider)
            check_target(spec, found)
    out_dir = report_dir or default_report_dir(spec, found.config if found else None)
    display = ProgressDisplay(err, spec.name) if progress else None
    with exit_codes():
        try:
            if display is not None:
                with display:
                    result = run_profile(
                        spec,
                        project=found,
                        report_dir=out_dir,
                        baseline=before,
                        base_url=base_url,
                        workers=workers,
                        on_status=display,
                    )
            else:
                result = run_profile(
                    spec,
                    project=found,
                    report_dir=out_dir,
                    baseline=before,
                    base_url=base_url,
                    workers=workers,
                )
        except InputError:
            raise
        except HarnessError as exc:
            err.print(f"error report: {out_dir / 'report.md'}", highlight=False)
            fail(EXIT_FAILED, str(exc))
    _print_result(result)
    raise typer.Exit(load_exit_code(result.verdict))


def _print_result(result: LoadResult) -> None:
    from harness.load.outcome import PASSED

    style = "green" if result.verdict == PASSED else "red"
    out.print(f"[bold {style}]{escape(result.summary())}[/]")
    for name in ("markdown", "html", "json", "junit", "plot", "locust_html"):
        if name in result.artifacts:
            out.print(f"  {name}: {result.artifacts[name]}", highlight=False)
