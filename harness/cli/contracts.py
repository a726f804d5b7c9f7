"""`harness contracts verify|openapi-check` and `harness can-i-deploy`: options in, the
core's result (harness.contracts.runs) rendered, the exit code from harness.cli.exits."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harness.cli.exits import exit_codes, finish, out
from harness.cli.options import JsonOption, ManifestOption, project
from harness.extras import require

if TYPE_CHECKING:
    from types import ModuleType

    from harness.contracts.matrix import Verdict
    from harness.contracts.verification import ProviderVerification

__all__ = ["can_i_deploy", "contracts_app"]

contracts_app = typer.Typer(
    help="Consumer-driven contracts: provider verification and OpenAPI checks.",
    no_args_is_help=True,
)


def _runs() -> ModuleType:
    """harness.contracts.runs, once its extra is known to be there (else exit 2)."""
    require("contracts", "harness contracts")
    from harness.contracts import runs

    return runs


@contracts_app.command("verify")
def verify(
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider (repeatable).")
    ] = None,
    manifest: ManifestOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start each provider named in a pact and verify every pact naming it (exit 0/1)."""

    def show(outcome: ProviderVerification) -> None:
        for problem in outcome.problems:
            out.print(f"[red]FAILED[/] {escape(outcome.provider)}: {escape(problem)}")
        for result in outcome.results.values():
            if result.passed:
                out.print(f"[green]ok[/]     {escape(result.name)}")
            else:
                tag = "[yellow]pending[/]" if result.pending else "[red]FAILED[/]"
                out.print(f"{tag} {escape(result.name)}")
                out.print(escape(result.report), highlight=False)

    with exit_codes():
        found = project(manifest)
        result = _runs().verify_contracts(
            found, providers=provider or (), on_verified=None if as_json else show
        )
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        for note in result.notes:
            out.print(escape(note), highlight=False)
        for problem in result.problems:
            out.print(f"[red]FAILED[/] {escape(problem)}")
        out.print(
            f"{'[green]verified[/]' if result.ok else '[red]failed[/]'}: {result.verified} "
            f"interactions, {result.pacts} pacts, version {escape(result.version)}"
        )
    finish(result.ok)


@contracts_app.command("openapi-check")
def openapi_check(
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Rewrite contracts/openapi/<service>.json.")
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Check pacts against the baselines; start nothing.")
    ] = False,
    manifest: ManifestOption = None,
) -> None:
    """Pacts vs each provider's OpenAPI; each OpenAPI vs its baseline (breaking changes)."""

    with exit_codes():
        result = _runs().check_openapi(
            project(manifest), update_baseline=update_baseline, offline=offline
        )
    for checked in result.pacts:
        pact = checked.pact
        if checked.problem is not None:
            out.print(f"[red]FAILED[/] {escape(checked.problem)}")
        elif checked.skipped is not None:
            out.print(f"skip   {escape(pact.pair)}: {escape(checked.skipped)}")
        else:
            tag = "[red]FAILED[/]" if checked.drifts else "[green]ok[/]    "
            out.print(f"{tag} {escape(pact.pair)} vs {escape(pact.provider)}'s OpenAPI")
            for drift in checked.drifts:
                out.print(escape(drift.render()), highlight=False)
    for evolution in result.evolutions:
        tag = "[green]ok[/]    " if evolution.ok else "[red]FAILED[/]"
        out.print(f"{tag} {escape(evolution.render())}", highlight=False)
    finish(result.ok)


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

    with exit_codes():
        result = _runs().deploy_verdict(
            project(manifest), service, version=version, environment=to_environment
        )
    if result.broker_output is not None and not as_json:
        out.print(escape(result.broker_output), highlight=False)
        finish(result.deployable)
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
        finish(result.deployable)
    assert result.verdict is not None
    for line in _verdict_lines(result.verdict):
        out.print(escape(line), highlight=False)
    if not result.verdict.checks:
        out.print(f"no pact names {service}: nothing stands in the way")
    out.print(
        f"{service} @ {result.version}: "
        + ("[green]deployable[/]" if result.deployable else "[red]NOT deployable[/]")
    )
    finish(result.deployable)


def _verdict_lines(verdict: Verdict) -> list[str]:
    """One line per pact that decides: plain text, readable in a CI log of any width."""
    lines = [f"can {verdict.service} @ {verdict.version} be deployed?"]
    for check in verdict.checks:
        role = "consumes" if check.role == "consumer" else "provides"
        head = f"  {'ok ' if check.ok else 'NO '} {check.pact.pair} ({verdict.service} {role})"
        row = check.row
        if row is None:
            lines.append(f"{head}: {check.reason}")
        else:
            lines.append(
                f"{head}: pact {row.pact_sha256[:12]}, consumer {row.consumer_version}, "
                f"provider {row.provider_version}, verified {row.verified_at}: "
                + ("ok" if row.success else "failed: " + (", ".join(row.failed) or "none verified"))
            )
    return lines
