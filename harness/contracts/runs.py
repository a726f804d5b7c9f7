"""The contract runs the CLI offers, each one call returning a result (no printing here).

- :func:`verify_contracts`: start each provider named in a pact and verify every pact
  naming it -> :class:`VerifyResult`;
- :func:`check_openapi`: pacts vs each provider's OpenAPI, and each OpenAPI vs its committed
  baseline -> :class:`OpenApiCheck`;
- :func:`deploy_verdict`: the verifications that decide whether a service may ship ->
  :class:`DeployResult` (through the Pact Broker when one is configured).

Bad input (contracts.yaml, the manifest, a provider or service nobody names) raises an
:class:`~harness.errors.InputError` before anything starts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from harness.contracts.broker import can_i_deploy_command, run_cli
from harness.contracts.matrix import Verdict, can_i_deploy
from harness.contracts.matrix_notes import MatrixNotes, MatrixStoreError
from harness.contracts.openapi_check import Drift
from harness.contracts.pactfile import InteractionKind, PactFile
from harness.contracts.session import (
    ContractPlan,
    EvolutionResult,
    load_plan,
    open_session,
    project_broker,
)
from harness.contracts.verification import ProviderVerification
from harness.contracts.versions import current_version
from harness.errors import InputError
from harness.project import Project

__all__ = [
    "DeployResult",
    "MatrixUnreadableError",
    "NothingToVerifyError",
    "OpenApiCheck",
    "PactDrift",
    "UnknownNameError",
    "VerifyResult",
    "check_openapi",
    "deploy_verdict",
    "verify_contracts",
]


class UnknownNameError(InputError):
    """A provider or service the run was asked about is named by no pact nor the manifest."""


class NothingToVerifyError(InputError):
    """No pact holds an interaction: a verification would verify nothing (not a pass)."""


class MatrixUnreadableError(InputError):
    """can-i-deploy cannot read the verification matrix (no git repository, git failed)."""


@dataclass
class VerifyResult:
    version: str
    pacts: int
    outcomes: list[ProviderVerification] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # pacts unusable, edges uncovered
    notes: list[str] = field(default_factory=list)  # where the verifications were recorded

    @property
    def ok(self) -> bool:
        # Zero work is not a pass: a run that verified nothing failed.
        return not self.problems and bool(self.outcomes) and all(o.passed for o in self.outcomes)

    @property
    def verified(self) -> int:
        return sum(o.reported for o in self.outcomes)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "version": self.version,
            "problems": self.problems,
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
                for o in self.outcomes
            },
        }


def verify_contracts(
    project: Project,
    *,
    providers: Collection[str] = (),
    on_verified: Callable[[ProviderVerification], None] | None = None,
) -> VerifyResult:
    """Verify every provider named in a pact (or ``providers``), each in one batch."""
    plan = load_plan(project)
    if not any(p.interactions for p in plan.pacts):
        raise NothingToVerifyError(plan.nothing_to_verify)
    chosen = sorted(providers) if providers else plan.providers
    unknown = [p for p in chosen if p not in plan.providers]
    if unknown:
        raise UnknownNameError(f"no pact names {', '.join(unknown)} as its provider")
    scoped = ContractPlan(
        plan.settings, plan.manifest, tuple(p for p in plan.pacts if p.provider in chosen)
    )
    session = open_session(project, scoped, openapi=False)
    result = VerifyResult(version=session.version, pacts=len(scoped.pacts))
    try:
        for provider in chosen:
            outcome = session.verification(provider)
            result.outcomes.append(outcome)
            if on_verified is not None:
                on_verified(outcome)
    finally:
        session.close()
        result.notes = list(session.notes)
    result.problems = [p for pact in scoped.pacts for p in scoped.problems_of(pact)]
    if not providers:
        result.problems += scoped.coverage_problems()
    return result


@dataclass(frozen=True)
class PactDrift:
    """One pact checked against its provider's OpenAPI (``skipped``: why it was not)."""

    pact: PactFile
    drifts: tuple[Drift, ...] = ()
    problem: str | None = None
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.drifts


@dataclass
class OpenApiCheck:
    pacts: list[PactDrift] = field(default_factory=list)
    evolutions: list[EvolutionResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.pacts) and all(e.ok for e in self.evolutions)


def check_openapi(
    project: Project, *, update_baseline: bool = False, offline: bool = False
) -> OpenApiCheck:
    """Pacts vs each provider's OpenAPI, and each OpenAPI vs its committed baseline.

    ``offline`` checks the pacts against the committed baselines and starts nothing (no
    breaking-change check: there is no current document to compare).
    """
    plan = load_plan(project)
    session = open_session(project, plan, openapi=not offline)
    result = OpenApiCheck()
    try:
        for pact in plan.pacts:
            if pact.provider not in plan.manifest.services:
                problem = f"{pact.path.name}: {pact.provider} unknown"
                result.pacts.append(PactDrift(pact, problem=problem))
            elif InteractionKind.HTTP not in pact.kinds:
                skipped = "messages only, no OpenAPI to check"
                result.pacts.append(PactDrift(pact, skipped=skipped))
            else:
                result.pacts.append(PactDrift(pact, tuple(session.static_check(pact))))
        if not offline:
            for service in plan.openapi_services:
                result.evolutions.append(session.evolution(service, update=update_baseline))
    finally:
        session.close()
    return result


@dataclass(frozen=True)
class DeployResult:
    service: str
    version: str
    deployable: bool
    verdict: Verdict | None = None  # from the local matrix
    broker_output: str | None = None  # from the Pact Broker, when one is configured

    def to_json(self) -> dict[str, Any]:
        checks = self.verdict.checks if self.verdict is not None else []
        return {
            "service": self.service,
            "version": self.version,
            "deployable": self.deployable,
            "checks": [
                {
                    "pact": c.pact.path.name,
                    "role": c.role,
                    "ok": c.ok,
                    "reason": c.reason,
                    "row": c.row.to_json() if c.row else None,
                }
                for c in checks
            ],
            **({"broker": self.broker_output} if self.broker_output is not None else {}),
        }


def deploy_verdict(
    project: Project,
    service: str,
    *,
    version: str | None = None,
    environment: str | None = None,
) -> DeployResult:
    """Whether ``service`` (at ``version``, default the current one) may ship."""
    wanted = version or current_version(project.root, project.config.contracts.version)
    broker = project_broker(project)
    if broker is not None:
        done = run_cli(can_i_deploy_command(broker, service, wanted, environment))
        output = (done.stdout + done.stderr).strip()
        return DeployResult(service, wanted, done.returncode == 0, broker_output=output)
    plan = load_plan(project)
    named = {p.consumer for p in plan.pacts} | {p.provider for p in plan.pacts}
    if service not in plan.manifest.services and service not in named:
        known = ", ".join(sorted(plan.manifest.services))
        raise UnknownNameError(f"unknown service {service!r} (services: {known})")
    try:
        matrix = MatrixNotes.open(plan.settings.root, plan.settings.matrix).matrix(wanted)
    except MatrixStoreError as exc:
        raise MatrixUnreadableError(str(exc)) from None
    verdict = can_i_deploy(service, wanted, plan.pacts, matrix)
    return DeployResult(service, wanted, verdict.deployable, verdict=verdict)
