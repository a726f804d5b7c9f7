"""``harness faults matrix``: options in, harness.matrix.session.prepare + run_matrix, the
MatrixResult rendered as a rich table; exit codes from harness.cli.exits (0 every cell as
expected, 1 a cell broke or changed, 2 bad input; 130/143 interrupted, after the rollback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from harness.cli.exits import err, exit_codes, matrix_exit_code, out
from harness.cli.options import ManifestOption, ProviderOption, project
from harness.extras import require

__all__ = ["faults_app", "matrix"]

faults_app = typer.Typer(help="Fault injection over the whole fleet.", no_args_is_help=True)

_STYLE = {
    "held": "bold green",
    "degraded": "bold yellow",
    "failed": "bold dark_orange",
    "broken": "bold red",
    "skipped": "dim",
}


def _progress(event: dict[str, Any]) -> None:
    if event["kind"] == "cell" and event.get("state") == "done":
        mark = "" if event.get("as_expected") else " [red](not as expected)[/]"
        err.print(
            f"[dim]{event['n']:>3}/{event['of']}[/] {escape(event['cell'])}: "
            f"[{_STYLE[event['status']]}]{event['status']}[/] "
            f"[dim]{event['seconds']:.1f}s{_throttled(event)}[/]{mark}"
        )
    elif event["kind"] == "phase":
        err.print(f"[dim]{escape(str(event['phase']))}[/]")
    elif event["kind"] == "clean":
        err.print(
            f"[dim]clean run: {event['passed']} passed, {event['failed']} failed"
            f"{_throttled(event)}[/]"
        )


def _throttled(event: dict[str, Any]) -> str:
    count = int(event.get("throttled") or 0)
    return f", {count} rate-limit answer(s) waited out" if count else ""


def render(result: Any) -> Table:
    table = Table(title=f"fault matrix: {result.fleet}", show_lines=False)
    table.add_column("edge", no_wrap=True)
    for fault in result.fault_classes:
        table.add_column(fault, justify="center")
    for edge in result.edges:
        row = [escape(edge)]
        for fault in result.fault_classes:
            cell = result.status_of(edge, fault)
            if cell is None:
                row.append("—")
                continue
            text = cell.status.value + (" ≠" if cell.changed else "")
            row.append(f"[{_STYLE[cell.status.value]}]{text}[/]")
        table.add_row(*row)
    return table


def matrix(
    workload: Annotated[
        list[Path] | None,
        typer.Option(
            "--workload",
            help=(
                "A probe workload or a load profile (scenarios/load/*.yaml, judged by the "
                "expectations' load: error budget); give both to run both in each cell "
                "(default: the expectations file's workload)."
            ),
        ),
    ] = None,
    expectations: Annotated[
        Path | None,
        typer.Option(help="Expectations (default: <chaos.scenarios>/expectations.yaml if any)."),
    ] = None,
    edges: Annotated[
        list[str] | None,
        typer.Option("--edges", help="Edges to run (names or globs, comma-separated)."),
    ] = None,
    faults: Annotated[
        list[str] | None,
        typer.Option("--faults", help="Fault classes to run (names or globs)."),
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune/--no-prune", help="Skip edges the clean run never used.")
    ] = True,
    baseline: Annotated[
        Path | None, typer.Option(help="A previous run's matrix.json: coverage delta.")
    ] = None,
    report_dir: Annotated[
        Path | None, typer.Option(help="Where reports go (default: <report_dir>/matrix).")
    ] = None,
    manifest: ManifestOption = None,
    provider: ProviderOption = None,
) -> None:
    """Every edge x every fault class: 0 all as expected, 1 a cell broke or changed, 2 bad input."""
    with exit_codes("the fleet was rolled back"):
        require("chaos", "harness faults matrix")
        from harness.matrix.session import DEFAULT_SUBDIR, prepare, run_matrix

        found = project(manifest, provider)
        plan = prepare(
            found,
            expectations=expectations,
            workload=workload,
            edges=edges,
            faults=faults,
            prune=prune,
        )
        result = run_matrix(
            plan,
            project=found,
            report_dir=report_dir or found.config.report_dir / DEFAULT_SUBDIR,
            baseline=baseline,
            on_progress=_progress,
        )
    out.print(render(result))
    for edge, why in result.pruned.items():
        out.print(f"[dim]pruned {escape(edge)}: {escape(why)}[/]")
    for edge, why in result.kept.items():
        out.print(f"[dim]kept {escape(edge)}: {escape(why)}[/]")
    if not result.pruned:
        out.print(f"[dim]pruning: {escape(result.pruning)}[/]")
    overall, per = result.coverage()
    services = ", ".join(f"{name} {cov}" for name, cov in per.items())
    out.print(f"resilience coverage {overall}  ({escape(services)})")
    colour = "green" if result.ok else "red"
    out.print(
        f"[bold {colour}]{'as expected' if result.ok else 'not as expected'}[/]: "
        f"{escape(result.reason)}"
    )
    out.print(f"report: {result.artifacts.get('markdown')}", highlight=False)
    raise typer.Exit(matrix_exit_code(result.ok))


faults_app.command("matrix")(matrix)
