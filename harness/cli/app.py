"""The `harness` command: a thin adapter from options to harness core, and rich output.

Exit codes: 0 success; 1 the run failed (a service did not start, the smoke flow failed);
2 bad input (manifest, configuration, usage); 130 interrupted by Ctrl-C; 143 by SIGTERM.

`harness load` adds 98 (regression against the baseline) and 99 (thresholds failed, or the
run was aborted); see harness.load.outcome.

`harness contracts verify|openapi-check` and `harness can-i-deploy` delegate to
harness.contracts.command (1: a contract failed / not deployable). `harness fuzz` delegates
to harness.fuzz.command (1: new fuzzing failures). The command `gameday` is reserved for a
later issue; it is not registered yet (typer answers "No such command" with exit code 2).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.config import HarnessConfig, load_config
from harness.errors import ConfigError, HarnessError, ManifestError, SmokeError, SpecError
from harness.fleet import signals
from harness.fleet.graph import derive_edges, start_order
from harness.fleet.launch import launch_from_config
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import Manifest, load_manifest
from harness.fleet.smoke import SmokeOptions, run_smoke

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
_WATCH_INTERVAL = 0.5

app = typer.Typer(
    name="harness",
    help="Contract and chaos testing harness for microservice fleets.",
    no_args_is_help=True,
    add_completion=False,
)
fleet_app = typer.Typer(
    help="Boot, inspect and smoke-test a fleet described by its manifest.",
    no_args_is_help=True,
)
app.add_typer(fleet_app, name="fleet")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ManifestOption = Annotated[
    Path | None,
    typer.Option("--manifest", "-m", help="Fleet manifest (default: from configuration)."),
]
ProviderOption = Annotated[
    str | None,
    typer.Option("--provider", "-p", help="Infra provider: local | external (default: config)."),
]
KeepLogsOption = Annotated[
    bool | None,
    typer.Option("--keep-logs/--no-keep-logs", help="Copy logs to <report_dir>/logs at the end."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _fail(code: int, message: str) -> NoReturn:
    # Messages quote user files and server answers: brackets in them are not markup.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _config(manifest: Path | None, provider: str | None, keep_logs: bool | None) -> HarnessConfig:
    overrides = {"manifest": manifest, "provider": provider, "keep_logs": keep_logs}
    try:
        return load_config(overrides=overrides)
    except ConfigError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))


@contextmanager
def _exit_codes() -> Iterator[None]:
    """Map our exceptions to exit codes; SIGTERM behaves like Ctrl-C meanwhile."""
    try:
        with signals.sigterm_raises():
            yield
    except signals.Terminated as exc:
        err.print(f"{exc}: the fleet was torn down")
        raise typer.Exit(128 + exc.signum) from None
    except KeyboardInterrupt:
        err.print("interrupted; the fleet was torn down")
        raise typer.Exit(130) from None
    except SpecError as exc:
        _fail(EXIT_BAD_INPUT, f"invalid file:\n{exc}")
    except ConfigError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    except HarnessError as exc:
        _fail(EXIT_FAILED, str(exc))


def _run(command: Callable[[], int]) -> NoReturn:
    """Run a capability's command (it prints its own results) and exit with its exit code."""
    with _exit_codes():
        code = command()
    raise typer.Exit(code)


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
    no_proxy: Annotated[
        bool, typer.Option("--no-proxy", help="Bypass Toxiproxy: callers reach callees directly.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the fleet as one JSON line instead of a table.")
    ] = False,
) -> None:
    """Run the fleet in the foreground until Ctrl-C or SIGTERM, then tear it all down."""
    config = _config(manifest, provider, keep_logs)

    def stopped(name: str, code: int | None) -> None:
        err.print(f"[yellow]service {escape(name)} exited (code {code})[/]")

    with _exit_codes():
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


@fleet_app.command("smoke")
def smoke(
    manifest: ManifestOption = None,
    provider: ProviderOption = None,
    keep_logs: KeepLogsOption = None,
    latency_ms: Annotated[int, typer.Option(help="Latency added on the edge (ms).")] = 300,
    edge: Annotated[str, typer.Option(help="Edge that gets the latency.")] = "orders->payments",
    samples: Annotated[int, typer.Option(min=1, help="Checkouts per phase.")] = 5,
    max_samples: Annotated[
        int, typer.Option(min=1, help="Pairs to take at most while the rise is unclear.")
    ] = 15,
    tolerance_ms: Annotated[
        float, typer.Option(min=0, help="Measurement noise allowed below the latency (ms).")
    ] = 15.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON summary.")] = False,
) -> None:
    """Boot the fleet, check out through the gateway, slow an edge, check the effect, stop."""
    config = _config(manifest, provider, keep_logs)
    options = SmokeOptions(
        edge=edge,
        latency_ms=latency_ms,
        samples=samples,
        max_samples=max(samples, max_samples),
        tolerance_ms=tolerance_ms,
    )
    with _exit_codes():
        if not as_json:
            err.print(escape(f"booting {config.manifest} ({config.provider}) ..."))
        summary = _smoke(config, options)
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
    if not summary["ok"]:
        table.add_row("verdict", f"[red]failed[/] at {escape(str(summary['step']))}")
        table.add_row("reason", escape(str(summary["reason"])))
        return table
    order, fault, checkout = summary["order"], summary["fault"], summary["checkout"]
    table.add_row("boot", f"{summary['boot_seconds']:.2f} s")
    table.add_row(
        "order", f"{order['order_id']} {order['status']}, shipment {order['shipment_id']}"
    )
    table.add_row("fault", f"{fault['toxic']} {fault['latency_ms']} ms on {fault['edge']}")
    for phase in ("baseline", "faulted", "recovered"):
        table.add_row(f"checkout {phase}", f"p50 {checkout[phase]['p50_ms']:.1f} ms")
    table.add_row(
        "rise",
        f"{summary['rise_ms']:.1f} ms (needed {summary['required_rise_ms']:.1f} ms) "
        "[green]passed[/]",
    )
    return table


def _smoke(config: HarnessConfig, options: SmokeOptions) -> dict[str, Any]:
    """The summary, also for a failed run (``ok: false``, the step and the reason)."""
    try:
        fleet = launch_from_config(config)
    except SpecError:
        raise  # bad input, not a failed run: exit code 2
    except HarnessError as exc:
        return {"ok": False, "step": "boot", "reason": str(exc)}
    try:
        return run_smoke(fleet, options)
    except SmokeError as exc:
        return {"ok": False, "step": exc.step, "reason": exc.reason}
    except HarnessError as exc:
        return {"ok": False, "step": "fault", "reason": str(exc)}
    finally:
        fleet.close()
        _report_teardown(fleet)


@app.command("load")
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
    from harness.load.command import LoadOptions, run_load

    options = LoadOptions(profile, baseline, report_dir, base_url, workers, progress)
    config = partial(_config, manifest, provider, None)  # read only if the run needs it
    _run(lambda: run_load(options, config=config, out=out, err=err))


# --- fuzz (harness.fuzz.command does the work) ---------------------------------------------


@app.command("fuzz")
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
        Path | None, typer.Option(help="Fuzz settings (default: scenarios/fuzz/fuzz.yaml).")
    ] = None,
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Write this run's failures as the baseline.")
    ] = False,
    manifest: ManifestOption = None,
    provider: ProviderOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fuzz every service's OpenAPI (Schemathesis): exit 0 clean, 1 new failures, 2 bad input."""
    from harness.fuzz.command import FuzzOptions, run_fuzz

    options = FuzzOptions(
        services=tuple(service or ()),
        operations=tuple(operation or ()),
        seed=seed,
        max_examples=max_examples,
        report_dir=report_dir,
        baseline=baseline,
        settings=settings,
        update_baseline=update_baseline,
        as_json=as_json,
    )
    config = partial(_config, manifest, provider, None)  # read only if the run needs it
    _run(lambda: run_fuzz(options, config=config, out=out, err=err))


# --- contracts (harness.contracts.command does the work) -----------------------------------

contracts_app = typer.Typer(
    help="Consumer-driven contracts: provider verification and OpenAPI checks.",
    no_args_is_help=True,
)
app.add_typer(contracts_app, name="contracts")


def _contracts(manifest: Path | None, command: Callable[[HarnessConfig, Any], int]) -> NoReturn:
    """Run a harness.contracts.command function with the configuration and our consoles."""
    from harness.contracts.command import Consoles

    config = _config(manifest, None, None)
    _run(lambda: command(config, Consoles(out, err)))


@contracts_app.command("verify")
def contracts_verify(
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider (repeatable).")
    ] = None,
    manifest: ManifestOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start each provider named in a pact and verify every pact naming it (exit 0/1)."""
    from harness.contracts import command

    _contracts(
        manifest,
        lambda config, io: command.verify(config, io, providers=provider or (), as_json=as_json),
    )


@contracts_app.command("openapi-check")
def contracts_openapi_check(
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Rewrite contracts/openapi/<service>.json.")
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Check pacts against the baselines; start nothing.")
    ] = False,
    manifest: ManifestOption = None,
) -> None:
    """Pacts vs each provider's OpenAPI; each OpenAPI vs its baseline (breaking changes)."""
    from harness.contracts import command

    _contracts(
        manifest,
        lambda config, io: command.openapi_check(
            config, io, update_baseline=update_baseline, offline=offline
        ),
    )


@app.command("can-i-deploy")
def can_i_deploy(
    service: Annotated[str, typer.Argument(help="The service to deploy.")],
    version: Annotated[
        str | None, typer.Option(help="Its version (default: the current git commit).")
    ] = None,
    to_environment: Annotated[
        str | None, typer.Option(help="With a Pact Broker: the target environment.")
    ] = None,
    manifest: ManifestOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the verifications that decide whether SERVICE may ship: exit 0 yes, 1 no."""
    from harness.contracts import command

    _contracts(
        manifest,
        lambda config, io: command.deploy_check(
            config, io, service, version=version, environment=to_environment, as_json=as_json
        ),
    )


if __name__ == "__main__":  # pragma: no cover - the console script calls `app` directly
    app()
