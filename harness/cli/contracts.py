"""The `harness contracts ...` and `harness can-i-deploy` commands, minus option parsing.

Exit codes: 0 all good; 1 a contract failed (or the service cannot be deployed); 2 bad
input (manifest, contracts.yaml, an unknown service). The CLI (``harness/cli.py``) only
maps its options onto these functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape

from harness.config import HarnessConfig
from harness.contracts.broker import broker_from_env, can_i_deploy_command, run_cli
from harness.contracts.matrix import Verdict, can_i_deploy
from harness.contracts.matrix_notes import MatrixNotes, MatrixStoreError
from harness.contracts.pactfile import InteractionKind
from harness.contracts.run import ContractPlan, ContractSession, make_plan
from harness.contracts.settings import load_settings
from harness.contracts.verification import ProviderVerification
from harness.contracts.versions import current_branch, current_version
from harness.fleet.launch import launch_from_config
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import load_manifest

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class Consoles:
    out: Console
    err: Console


def _plan(config: HarnessConfig) -> ContractPlan:
    return make_plan(load_settings(config.root), load_manifest(config.manifest))


def _session(config: HarnessConfig, plan: ContractPlan, *, openapi: bool) -> ContractSession:
    def start(services: Collection[str], proxied: bool) -> Fleet:
        return launch_from_config(config, services=services, proxied=proxied)

    return ContractSession(
        plan,
        start,
        version=current_version(config.root),
        branch=current_branch(config.root),
        broker=broker_from_env(),
        openapi=openapi,
    )


def _print_verification(outcome: ProviderVerification, io: Consoles) -> None:
    for problem in outcome.problems:
        io.out.print(f"[red]FAILED[/] {escape(outcome.provider)}: {escape(problem)}")
    for result in outcome.results.values():
        if result.passed:
            io.out.print(f"[green]ok[/]     {escape(result.name)}")
        else:
            tag = "[yellow]pending[/]" if result.pending else "[red]FAILED[/]"
            io.out.print(f"{tag} {escape(result.name)}")
            io.out.print(escape(result.report), highlight=False)


def verify(
    config: HarnessConfig,
    io: Consoles,
    *,
    providers: Collection[str] = (),
    as_json: bool = False,
) -> int:
    """Start each provider named in a pact (or ``providers``) and verify its pacts."""
    plan = _plan(config)
    chosen = sorted(providers) if providers else plan.providers
    unknown = [p for p in chosen if p not in plan.providers]
    if unknown:
        io.err.print(f"no pact names {', '.join(unknown)} as its provider")
        return EXIT_BAD_INPUT
    scoped = ContractPlan(
        plan.settings, plan.manifest, tuple(p for p in plan.pacts if p.provider in chosen)
    )
    session = _session(config, scoped, openapi=False)
    outcomes: list[ProviderVerification] = []
    try:
        for provider in chosen:
            outcome = session.verification(provider)
            outcomes.append(outcome)
            if not as_json:
                _print_verification(outcome, io)
    finally:
        session.close()
    if not as_json:
        for note in session.notes:
            io.out.print(escape(note), highlight=False)
    problems = [p for pact in scoped.pacts for p in scoped.problems_of(pact)]
    if not providers:
        problems += scoped.coverage_problems()
    ok = not problems and all(o.passed for o in outcomes) and bool(outcomes)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": ok,
                    "version": session.version,
                    "problems": problems,
                    "providers": {
                        o.provider: {
                            "passed": o.passed,
                            "problems": o.problems,
                            "interactions": [
                                {
                                    "consumer": r.consumer,
                                    "description": r.description,
                                    "passed": r.passed,
                                    "pending": r.pending,
                                    "report": r.report,
                                }
                                for r in o.results.values()
                            ],
                        }
                        for o in outcomes
                    },
                },
                indent=2,
            )
        )
    else:
        for problem in problems:
            io.out.print(f"[red]FAILED[/] {escape(problem)}")
        verified = sum(o.reported for o in outcomes)
        io.out.print(
            f"{'[green]verified[/]' if ok else '[red]failed[/]'}: {verified} interactions, "
            f"{len(scoped.pacts)} pacts, version {escape(session.version)}"
        )
    return EXIT_OK if ok else EXIT_FAILED


def openapi_check(
    config: HarnessConfig,
    io: Consoles,
    *,
    update_baseline: bool = False,
    offline: bool = False,
) -> int:
    """Pacts vs each provider's OpenAPI, and each OpenAPI vs its committed baseline.

    ``offline`` checks the pacts against the committed baselines and starts nothing (no
    breaking-change check: there is no current document to compare).
    """
    plan = _plan(config)
    session = _session(config, plan, openapi=not offline)
    failed = False
    try:
        for pact in plan.pacts:
            if pact.provider not in plan.manifest.services:
                io.out.print(f"[red]FAILED[/] {escape(pact.path.name)}: {pact.provider} unknown")
                failed = True
                continue
            if InteractionKind.HTTP not in pact.kinds:
                io.out.print(f"skip   {escape(pact.pair)}: messages only, no OpenAPI to check")
                continue
            drifts = session.static_check(pact)
            failed |= bool(drifts)
            tag = "[red]FAILED[/]" if drifts else "[green]ok[/]    "
            io.out.print(f"{tag} {escape(pact.pair)} vs {escape(pact.provider)}'s OpenAPI")
            for drift in drifts:
                io.out.print(escape(drift.render()), highlight=False)
        if not offline:
            for service in plan.openapi_services:
                result = session.evolution(service, update=update_baseline)
                failed |= not result.ok
                tag = "[green]ok[/]    " if result.ok else "[red]FAILED[/]"
                io.out.print(f"{tag} {escape(result.render())}", highlight=False)
    finally:
        session.close()
    return EXIT_FAILED if failed else EXIT_OK


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


def deploy_check(
    config: HarnessConfig,
    io: Consoles,
    service: str,
    *,
    version: str | None = None,
    environment: str | None = None,
    as_json: bool = False,
    runner: Callable[[list[str]], object] | None = None,
) -> int:
    """Print the matrix rows that decide whether ``service`` may ship; 0 yes, 1 no."""
    broker = broker_from_env()
    if broker is not None:
        wanted = version or current_version(config.root)
        command = can_i_deploy_command(broker, service, wanted, environment)
        done = run_cli(command)
        io.out.print(escape((done.stdout + done.stderr).strip()), highlight=False)
        return EXIT_OK if done.returncode == 0 else EXIT_FAILED
    plan = _plan(config)
    named = {p.consumer for p in plan.pacts} | {p.provider for p in plan.pacts}
    if service not in plan.manifest.services and service not in named:
        known = ", ".join(sorted(plan.manifest.services))
        io.err.print(f"unknown service {service!r} (services: {known})")
        return EXIT_BAD_INPUT
    wanted = version or current_version(config.root)
    try:
        matrix = MatrixNotes.open(plan.settings.root, plan.settings.matrix).matrix(wanted)
    except MatrixStoreError as exc:
        io.err.print(escape(str(exc)), highlight=False)
        return EXIT_BAD_INPUT
    verdict = can_i_deploy(service, wanted, plan.pacts, matrix)
    if as_json:
        print(
            json.dumps(
                {
                    "service": service,
                    "version": wanted,
                    "deployable": verdict.deployable,
                    "checks": [
                        {
                            "pact": c.pact.path.name,
                            "role": c.role,
                            "ok": c.ok,
                            "reason": c.reason,
                            "row": c.row.to_json() if c.row else None,
                        }
                        for c in verdict.checks
                    ],
                },
                indent=2,
            )
        )
    else:
        for line in _verdict_lines(verdict):
            io.out.print(escape(line), highlight=False)
        if not verdict.checks:
            io.out.print(f"no pact names {service}: nothing stands in the way")
        io.out.print(
            f"{service} @ {wanted}: "
            + ("[green]deployable[/]" if verdict.deployable else "[red]NOT deployable[/]")
        )
    return EXIT_OK if verdict.deployable else EXIT_FAILED
