"""`harness doctor` and `harness setup toxiproxy`: what the fleet needs, and installing it."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from harness.cli.exits import err, exit_codes, finish, out
from harness.cli.options import ManifestOption, ProviderOption, configuration
from harness.doctor import DoctorReport, diagnose
from harness.infra.toxiproxy_install import TOXIPROXY_VERSION, build, cache_dir

__all__ = ["doctor", "setup_app"]


def _table(report: DoctorReport) -> Table:
    verdict = "[green]can run[/]" if report.ok else "[red]cannot run yet[/]"
    table = Table(title=f"{escape(report.manifest)} ({report.provider}): {verdict}")
    table.add_column("part")
    table.add_column("needed")
    table.add_column("state")
    table.add_column("found / next step")
    for check in report.checks:
        state = "[green]ok[/]" if check.ok else ("[red]missing[/]" if check.needed else "absent")
        detail = check.found if check.ok else check.next_step
        table.add_row(check.name, "yes" if check.needed else "no", state, escape(detail))
    return table


def doctor(
    manifest: ManifestOption = None,
    provider: ProviderOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check what the configured fleet needs on this machine (exit 0: it can run; 1: not)."""
    config = configuration(manifest, provider)
    with exit_codes():
        report = diagnose(config)
    if as_json:
        print(json.dumps(report.as_dict()), flush=True)
    else:
        out.print(_table(report))
    finish(report.ok)


setup_app = typer.Typer(help="Install the real parts the harness runs.", no_args_is_help=True)


@setup_app.command("toxiproxy")
def setup_toxiproxy(
    version: Annotated[str, typer.Option(help="The Toxiproxy tag to build.")] = TOXIPROXY_VERSION,
    dest: Annotated[
        str | None,
        typer.Option(help="Directory for toxiproxy-server/-cli (default: your user cache)."),
    ] = None,
) -> None:
    """Build Shopify's Toxiproxy (server and CLI) with Go into a per-user cache directory,
    where the harness looks for it."""
    from pathlib import Path

    target = Path(dest) if dest else cache_dir(version)
    with exit_codes():
        server = build(version, dest=target, say=lambda line: err.print(escape(line)))
    out.print(escape(str(server)), highlight=False)
    finish(True)
