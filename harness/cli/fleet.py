"""`harness fleet ...`: validate, schema, up, compose, images, sweep/down and smoke, over
harness.fleet."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from harness.cli.exits import EXIT_BAD_INPUT, EXIT_FAILED, err, exit_codes, out
from harness.cli.options import (
    FleetBackendOption,
    KeepLogsOption,
    ManifestOption,
    ProviderOption,
    configuration,
)
from harness.config import HarnessConfig
from harness.errors import HarnessError, InputError, ManifestError
from harness.fleet.graph import derive_edges, start_order
from harness.fleet.launch import launch_from_config
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import Manifest, load_manifest
from harness.fleet.smoke import SmokeError, run_smoke
from harness.infra import runs

__all__ = ["fleet_app"]

_WATCH_INTERVAL = 0.5


class UnknownEdgeError(InputError):
    """The smoke flow was asked to slow an edge the manifest does not have."""


class NoSmokeRequestError(InputError):
    """Options that measure the smoke request, for a manifest that declares none."""


fleet_app = typer.Typer(
    help="Boot, inspect and smoke-test a fleet described by its manifest.",
    no_args_is_help=True,
)


def _service_table(fleet: Fleet) -> Table:
    table = Table(title=f"fleet {fleet.manifest.name}: up in {fleet.boot_seconds or 0:.2f} s")
    table.add_column("service")
    table.add_column("url")
    table.add_column("pid", justify="right")
    table.add_column("ready in", justify="right")
    for name, service in fleet.services.items():
        ready = f"{service.ready_seconds:.2f} s" if service.ready_seconds is not None else "-"
        table.add_row(name, service.url, str(service.process.pid), ready)
    return table


def _edge_table(fleet: Fleet) -> Table:
    via = "proxy" if fleet.proxied else "direct (unproxied)"
    table = Table(title=f"edges: the caller's variable points at the {via} address")
    table.add_column("edge")
    table.add_column("variable")
    table.add_column("caller connects to")
    table.add_column("upstream")
    for name, edge in fleet.edges.items():
        table.add_row(name, edge.edge.env, edge.listen.address, edge.upstream.address)
    return table


def _report_teardown(fleet: Fleet) -> None:
    for problem in fleet.teardown_problems:
        err.print(f"[yellow]teardown:[/] {escape(problem)}", highlight=False)


def _watch(fleet: Fleet, stopped: Callable[[str, int | None], None]) -> NoReturn:
    """Sleep until interrupted, reporting (once) each service that exits on its own."""
    reported: set[str] = set()
    while True:
        for name, service in fleet.services.items():
            if name not in reported and not service.process.running:
                reported.add(name)
                stopped(name, service.process.returncode)
        time.sleep(_WATCH_INTERVAL)


@fleet_app.command("validate")
def validate(
    path: Annotated[Path, typer.Argument(help="The manifest file to check.")],
) -> None:
    """Check a manifest without starting anything (exit 0 valid, 2 invalid)."""
    try:
        manifest = load_manifest(path)
    except ManifestError as exc:
        err.print(escape(str(exc)), highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    edges = derive_edges(manifest)
    summary = (
        f"{path}: valid: {len(manifest.services)} services, {len(manifest.infra)} infra, "
        f"{len(edges)} edges; start order: {', '.join(start_order(manifest))}"
    )
    out.print(escape(summary), highlight=False)


@fleet_app.command("schema")
def schema() -> None:
    """Print the manifest's JSON Schema (for editors: yaml-language-server and the like)."""
    print(json.dumps(Manifest.model_json_schema(), indent=2))


@fleet_app.command("up")
def up(
    manifest: ManifestOption = None,
    provider: ProviderOption = None,
    keep_logs: KeepLogsOption = None,
    fleet_backend: FleetBackendOption = None,
    no_proxy: Annotated[
        bool, typer.Option("--no-proxy", help="Bypass Toxiproxy: callers reach callees directly.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the fleet as one JSON line instead of a table.")
    ] = False,
) -> None:
    """Run the fleet in the foreground until Ctrl-C or SIGTERM, then tear it all down."""
    config = configuration(manifest, provider, keep_logs, fleet_backend)

    def stopped(name: str, code: int | None) -> None:
        err.print(f"[yellow]service {escape(name)} exited (code {code})[/]")

    with exit_codes():
        fleet = launch_from_config(config, proxied=False if no_proxy else None)
        try:
            if as_json:
                print(json.dumps(fleet.describe()), flush=True)
            else:
                out.print(_service_table(fleet))
                out.print(_edge_table(fleet))
                if fleet.toxiproxy_api:
                    out.print(f"Toxiproxy API: {fleet.toxiproxy_api}")
                out.print("Ctrl-C (or SIGTERM) stops the fleet.")
            _watch(fleet, stopped)
        finally:
            fleet.close()
            _report_teardown(fleet)


@fleet_app.command("compose")
def compose(
    manifest: ManifestOption = None,
    setup_image: Annotated[
        str | None,
        typer.Option(
            help="Image of the one-shot setup container (Python; default: containers.image)."
        ),
    ] = None,
) -> None:
    """Print the fleet as a Compose file: `harness fleet compose > compose.yaml`.

    Toxiproxy on every edge, its proxies and the databases created by a one-shot `setup`
    service before any service starts; images of the infrastructure from configuration.
    """
    from harness.fleet.compose import compose_document, compose_yaml

    config = configuration(manifest)
    with exit_codes():
        spec = load_manifest(config.manifest)
        document = compose_document(
            spec,
            toxiproxy_image=config.infra.toxiproxy_image,
            postgres_image=config.infra.postgres_image,
            redis_image=config.infra.redis_image,
            setup_image=setup_image,
        )
    print(compose_yaml(document), end="")


@fleet_app.command("images")
def images(
    manifest: ManifestOption = None,
    force: Annotated[bool, typer.Option("--force", help="Build even when current.")] = False,
) -> None:
    """Build the image the services run in with `--fleet-backend docker` (the manifest's
    `containers.build`); nothing is built when its content has not changed."""
    from harness.fleet.images import ensure_image

    config = configuration(manifest)
    with exit_codes():
        built = ensure_image(load_manifest(config.manifest), force=force)
    if built is None:
        out.print("nothing to build: the manifest has no containers.build")
        return
    state = "current (cached)" if built.cached else "built"
    out.print(f"{built.tag}: {state} in {built.seconds:.1f} s (content {built.content_hash})")


@fleet_app.command("sweep")
def sweep() -> None:
    """Kill the processes and remove the work directories and containers that dead harness
    runs left.

    Runs that still live are left alone; exit 1 if something could not be removed.
    """
    from harness.infra.docker_engine import sweep_if_engine

    report = runs.sweep()
    for line in report.lines():
        out.print(escape(line), highlight=False)
    containers = sweep_if_engine()
    for line in containers.lines() if containers is not None else []:
        out.print(escape(line), highlight=False)
    if report.problems or (containers is not None and containers.problems):
        raise typer.Exit(EXIT_FAILED)


# `fleet up` runs in the foreground (Ctrl-C or SIGTERM stops it); `down` removes leftovers.
fleet_app.command("down", help="The same as `harness fleet sweep`.")(sweep)


@fleet_app.command("smoke")
def smoke(
    manifest: ManifestOption = None,
    provider: ProviderOption = None,
    keep_logs: KeepLogsOption = None,
    latency_ms: Annotated[
        int | None,
        typer.Option(min=1, help="Latency added on the edge (ms; default: smoke.fault)."),
    ] = None,
    edge: Annotated[
        str | None, typer.Option(help="Edge that gets the latency (default: smoke.fault.edge).")
    ] = None,
    samples: Annotated[
        int | None, typer.Option(min=1, help="Requests per phase (default: smoke.samples).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON summary.")] = False,
) -> None:
    """Boot the fleet, check readiness and every edge, then the manifest's `smoke:` request
    clean, with latency on an edge, and clean again; stop."""
    config = configuration(manifest, provider, keep_logs)
    with exit_codes():
        summary = _smoke(
            config, edge=edge, latency_ms=latency_ms, samples=samples, announce=not as_json
        )
    if as_json:
        print(json.dumps(summary), flush=True)
    else:
        out.print(_smoke_table(summary))
    if not summary["ok"]:
        if not as_json:
            reason = escape(str(summary["reason"]))
            err.print(f"[bold red]smoke failed[/] at {summary['step']}: {reason}", highlight=False)
        raise typer.Exit(EXIT_FAILED)


def _smoke_table(summary: dict[str, Any]) -> Table:
    """The smoke summary for a person; `--json` prints the same facts for a machine."""
    table = Table(title=f"smoke: fleet {summary.get('fleet', '?')}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("result")
    if not summary["ok"] and "services" not in summary:
        table.add_row("verdict", f"[red]failed[/] at {escape(str(summary['step']))}")
        table.add_row("reason", escape(str(summary["reason"])))
        return table
    table.add_row("boot", f"{summary['boot_seconds']:.2f} s")
    for name, service in summary["services"].items():
        table.add_row(f"ready {name}", escape(service["ready"]))
    for name, seen in summary["edges"].items():
        table.add_row(f"edge {name}", escape(seen))
    flow = summary.get("flow")
    if flow is None:
        table.add_row("request", "none declared (add a `smoke:` section to the manifest)")
    else:
        table.add_row("request", escape(flow["request"]))
        table.add_row("first", escape(json.dumps(flow["first"])))
        for phase, figures in flow["timings"].items():
            table.add_row(f"{phase}", f"p50 {figures['p50_ms']:.1f} ms")
        fault = flow["fault"]
        if fault is not None:
            table.add_row("fault", f"{fault['toxic']} {fault['latency_ms']} ms on {fault['edge']}")
            if flow["fault_observed"]:
                observed = f"[green]yes[/]: every faulted request took >= {fault['latency_ms']} ms"
                if not flow["discriminating"]:
                    observed += " (clean ones did too: not conclusive)"
            else:
                observed = f"[red]no[/]: {flow['too_fast_ms']} ms"
            table.add_row("fault observed", observed)
            table.add_row("rise", f"{flow['rise_ms']:.1f} ms floor to floor (a figure)")
    if not summary["ok"]:
        table.add_row("verdict", f"[red]failed[/] at {escape(str(summary['step']))}")
    return table


def _smoke(
    config: HarnessConfig,
    *,
    edge: str | None,
    latency_ms: int | None,
    samples: int | None,
    announce: bool,
) -> dict[str, Any]:
    """The summary, also for a failed run (``ok: false``, the step and the reason)."""
    manifest = load_manifest(config.manifest)  # bad input raises here: nothing started
    edges = {found.name for found in derive_edges(manifest)}
    if edge is not None and edge not in edges:
        raise UnknownEdgeError(
            f"--edge {edge!r}: not an edge of {config.manifest} "
            f"(edges: {', '.join(sorted(edges)) or 'none'})"
        )
    if manifest.smoke is None and (edge, latency_ms, samples) != (None, None, None):
        raise NoSmokeRequestError(
            f"--edge, --latency-ms and --samples measure the manifest's `smoke:` request, "
            f"and {config.manifest} declares none"
        )
    if announce:
        err.print(escape(f"booting {config.manifest} ({config.provider}) ..."))
    try:
        fleet = launch_from_config(config, manifest=manifest)
    except InputError:
        raise  # bad input, not a failed run: exit code 2
    except HarnessError as exc:
        return {"ok": False, "step": "boot", "reason": str(exc)}
    try:
        return run_smoke(fleet, edge=edge, latency_ms=latency_ms, samples=samples)
    except SmokeError as exc:
        return {"ok": False, "step": exc.step, "reason": exc.reason}
    except HarnessError as exc:
        return {"ok": False, "step": "fault", "reason": str(exc)}
    finally:
        fleet.close()
        _report_teardown(fleet)
