"""``harness gameday SCENARIO``: options in, harness.chaos.session.run_gameday with its progress
on stderr, the GameDayResult rendered; the exit code of its verdict comes from
harness.cli.exits (0 passed, 1 error or not restored, 2 bad input, 20 deviated, 21 aborted,
22 not-steady; 130/143 interrupted, after the rollbacks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from harness.cli.exits import EXIT_OK, err, exit_codes, gameday_exit_code, out
from harness.cli.options import FleetBackendOption, ManifestOption, ProviderOption, project
from harness.extras import require

__all__ = ["gameday"]


def _progress(event: dict[str, Any]) -> None:
    text = event.get("result") or event.get("action") or event.get("phase") or ""
    text = text or event.get("step", "")
    state = f" ({event['state']})" if "state" in event else ""
    when = float(event.get("t", 0.0))
    err.print(f"[dim]{when:+7.1f}s {event['kind']}:[/] {escape(str(text))}{state}")


def gameday(
    scenario: Annotated[Path, typer.Argument(help="The chaos scenario (YAML).")],
    report_dir: Annotated[
        Path | None, typer.Option(help="Where reports go (default: <report_dir>/chaos/<name>).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and print the timeline; start nothing.")
    ] = False,
    attach: Annotated[
        Path | None,
        typer.Option(
            help="Run on a fleet started elsewhere: the JSON of `harness fleet up --json`."
        ),
    ] = None,
    manifest: ManifestOption = None,
    provider: ProviderOption = None,
    fleet_backend: FleetBackendOption = None,
) -> None:
    """Run a game-day: 0 passed, 1 error, 2 bad input, 20 deviated, 21 aborted, 22 not-steady."""
    with exit_codes("the fleet was rolled back"):
        require("chaos", "harness gameday")
        from harness.chaos import attach as attaching
        from harness.chaos.session import load_for, run_gameday, validate
        from harness.chaos.timeline import planned

        found = project(manifest, provider, fleet_backend=fleet_backend)
        spec = validate(scenario, project=found)
        if attach is not None:
            attaching.refuse_unattachable(spec)
            described = attaching.read_description(attach)
        if dry_run:
            for line in planned(spec, load_for(spec)):
                out.print(escape(line), highlight=False)
            raise typer.Exit(EXIT_OK)
        fleet = None
        if attach is not None:
            fleet = attaching.attach(described, found.manifest, str(attach))
        try:
            result = run_gameday(
                spec, fleet=fleet, project=found, report_dir=report_dir, on_progress=_progress
            )
        finally:
            if fleet is not None:
                fleet.close()  # our clients only: an attached fleet runs on
    colour = "green" if result.passed else "red"
    out.print(f"[bold {colour}]{result.verdict.value}[/]: {escape(result.reason)}")
    out.print(f"report: {result.artifacts.get('markdown')}", highlight=False)
    out.print(f"journal: {result.artifacts.get('journal')}", highlight=False)
    raise typer.Exit(gameday_exit_code(result.verdict.value))
