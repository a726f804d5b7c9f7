"""``harness fuzz``: options in, harness.fuzz.run_fuzz, its FuzzOutcome rendered.

Exit codes (harness.cli.exits): 0 no new failure; 1 new failures, a run that ran no case
(zero work is not a pass), or a run that broke somewhere; 2 bad input (fuzz.yaml, the
baseline, the seed, the manifest, a service or an operation the fleet does not have,
nothing to fuzz: no service with an OpenAPI, no operation in them), with nothing started
(an OpenAPI without operations is only seen once the fleet serves it). The seed is the
first line printed, always.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harness.cli.exits import EXIT_FAILED, EXIT_OK, err, exit_codes, out
from harness.cli.options import JsonOption, ManifestOption, ProviderOption, project
from harness.extras import require

if TYPE_CHECKING:
    from harness.fuzz.findings import TargetResult
    from harness.fuzz.session import FuzzSession

__all__ = ["fuzz"]

_ICONS = {"passed": "ok", "failed": "FAIL", "error": "ERROR", "skipped": "skip"}


def fuzz(
    service: Annotated[
        list[str] | None, typer.Option("--service", "-s", help="Only this service (repeatable).")
    ] = None,
    operation: Annotated[
        list[str] | None,
        typer.Option(help="Only this operation, e.g. 'GET /stock/{sku}' (repeatable)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="The seed (default: fresh; the configured one in CI).")
    ] = None,
    max_examples: Annotated[
        int | None, typer.Option(min=1, help="Examples per operation (default: fuzz.yaml).")
    ] = None,
    report_dir: Annotated[
        Path | None, typer.Option(help="Where reports go (default: <report_dir>/fuzz).")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="Known failures (default: fuzz.yaml's baseline).")
    ] = None,
    settings: Annotated[
        Path | None, typer.Option(help="Fuzz settings (default: configuration's fuzz.settings).")
    ] = None,
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Write this run's failures as the baseline.")
    ] = False,
    manifest: ManifestOption = None,
    provider: ProviderOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fuzz every service's OpenAPI (Schemathesis): exit 0 clean, 1 new failures, 2 bad input."""
    services, operations = tuple(service or ()), tuple(operation or ())
    with exit_codes():
        require("fuzz", "harness fuzz")
        from harness.fuzz.findings import describe_result
        from harness.fuzz.seeds import seed_from_config
        from harness.fuzz.session import prepare, replay_command, run_fuzz

        found = project(manifest, provider)
        chosen = seed_from_config(found.config.fuzz, seed)
        known, known_failures = prepare(
            found,
            settings_file=settings,
            baseline=baseline,
            services=services,
            operations=operations,
        )
    err.print(f"harness fuzz: {chosen.describe()}", highlight=False)

    def planned(session: FuzzSession) -> None:
        err.print(
            f"fuzzing {len(session.targets)} targets of {', '.join(session.services)} "
            f"({session.max_examples} examples per operation)",
            highlight=False,
        )

    def finished(result: TargetResult) -> None:
        icon = _ICONS.get(result.outcome, result.outcome)
        line = f"{icon:>5}  {result.target.id}  {result.cases} cases, {result.seconds:.1f} s"
        if result.skipped:
            line += f"  ({result.skipped})"
        err.print(escape(line), highlight=False)

    with exit_codes():
        outcome = run_fuzz(
            found,
            known,
            known_failures,
            seed=chosen,
            services=services,
            operations=operations,
            max_examples=max_examples,
            report_dir=report_dir,
            update_baseline=update_baseline,
            on_plan=planned,
            on_result=None if as_json else finished,
        )
    run = outcome.run
    if as_json:
        print(json.dumps(run.to_dict()), flush=True)
    else:
        for result in run.results:
            if result.new_findings or result.errors:
                replay = replay_command(
                    chosen,
                    services=[result.target.service],
                    operations=[] if result.target.method is None else [result.target.operation],
                    max_examples=run.max_examples,
                )
                out.print(escape(describe_result(result, replay)))
                out.print()
        if run.nothing_checked is not None:
            out.print(f"[bold red]{escape(run.nothing_checked)}[/]: zero work is not a pass")
        verdict = "[green]passed[/]" if run.passed else "[bold red]FAILED[/]"
        out.print(
            f"fuzz {verdict}: {len(run.new_findings)} new failure(s), "
            f"{len(run.known_findings)} known, {run.cases} cases in {run.seconds:.1f} s; "
            f"{escape(chosen.describe())}"
        )
        out.print(f"replay: {escape(run.replay)}", highlight=False)
        for path in (outcome.reports.markdown, outcome.reports.junit, outcome.reports.json):
            out.print(f"report: {path}", highlight=False)
    if outcome.baseline_written is not None:
        err.print(f"baseline written: {outcome.baseline_written}")
        raise typer.Exit(EXIT_OK)
    raise typer.Exit(EXIT_OK if run.passed else EXIT_FAILED)
