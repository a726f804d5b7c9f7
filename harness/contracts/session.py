"""A contract run: which pacts there are, what must start, and the checks over them.

:class:`ContractPlan` is pure data (pacts, manifest, settings) and answers what the run
needs: which providers to verify, which services to start, which edges lack a contract.
:class:`ContractSession` does the work once per run, lazily, for the CLI and the pytest
plugin alike: it starts the needed services through the fleet lifecycle (their own
processes and databases, test hooks on), verifies each provider in one batch, fetches each
service's OpenAPI from the running process, and records every verification in the matrix
(git notes, :mod:`harness.contracts.matrix_notes`) when it closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.contracts.broker import Broker, broker_from_env, publish
from harness.contracts.errors import ContractError
from harness.contracts.evolution import Change, breaking, diff
from harness.contracts.fleet_states import FLEET_STATES, FleetStates
from harness.contracts.matrix import MatrixRow, row_for
from harness.contracts.matrix_notes import MatrixNotes
from harness.contracts.messages import Producers, load_producers
from harness.contracts.openapi_check import Drift, check_pact
from harness.contracts.openapi_docs import read_baseline, write_baseline
from harness.contracts.pactfile import InteractionKind, PactFile, load_pacts
from harness.contracts.settings import ContractsSettings, load_settings
from harness.contracts.verification import ProviderVerification, verify_provider
from harness.contracts.versions import current_branch, current_version
from harness.errors import HarnessError
from harness.fleet.graph import EdgeKind, derive_edges
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import Manifest
from harness.fleet.openapi import OpenApiUnavailable, openapi_document
from harness.project import Project

log = logging.getLogger(__name__)

# (services to start, whether their edges need proxies) -> the running fleet
StartFleet = Callable[[Collection[str], bool], Fleet]


@dataclass(frozen=True)
class ContractPlan:
    settings: ContractsSettings
    manifest: Manifest
    pacts: tuple[PactFile, ...]

    @property
    def providers(self) -> list[str]:
        return sorted({p.provider for p in self.pacts})

    def pacts_for(self, provider: str) -> list[PactFile]:
        return [p for p in self.pacts if p.provider == provider]

    @property
    def nothing_to_verify(self) -> str:
        return f"nothing to verify: no pact with an interaction in {self.settings.pacts}"

    def problems_of(self, pact: PactFile) -> list[str]:
        """Why ``pact`` cannot be verified at all (names outside the manifest, no interactions)."""
        known = ", ".join(sorted(self.manifest.services))
        found = []
        for role, name in (("provider", pact.provider), ("consumer", pact.consumer)):
            if name not in self.manifest.services:
                found.append(
                    f"{pact.path.name}: the {role} {name!r} is not in the manifest "
                    f"(services: {known})"
                )
        if not pact.interactions:
            found.append(f"{pact.path.name}: the pact has no interactions")
        return found

    def coverage_problems(self) -> list[str]:
        """Edges of the manifest no pact covers: every HTTP call, every consumed event; and
        no pact at all, even for a manifest without edges (zero verified is not a pass)."""
        found = []
        if not any(p.interactions for p in self.pacts):
            found.append(self.nothing_to_verify)
        http = {
            (p.consumer, p.provider)
            for p in self.pacts
            if any(i.kind is InteractionKind.HTTP for i in p.interactions)
        }
        for edge in derive_edges(self.manifest):
            if edge.kind is EdgeKind.HTTP and (edge.source, edge.target) not in http:
                found.append(f"{edge.name}: no pact with an HTTP interaction covers this edge")
        for consumer, spec in sorted(self.manifest.services.items()):
            for event in spec.consumes:
                publishers = [
                    name
                    for name, other in sorted(self.manifest.services.items())
                    if event in other.publishes
                ]
                if not publishers:
                    found.append(f"{consumer} consumes {event}, which no service publishes")
                for publisher in publishers:
                    if not self._message_pact_mentions(consumer, publisher, event):
                        found.append(
                            f"{publisher}~>{consumer}: no message pact covers {event} "
                            "(its description or metadata must name the event)"
                        )
        return found

    def _message_pact_mentions(self, consumer: str, provider: str, event: str) -> bool:
        for pact in self.pacts:
            if (pact.consumer, pact.provider) != (consumer, provider):
                continue
            for interaction in pact.interactions:
                if interaction.kind is not InteractionKind.MESSAGE:
                    continue
                metadata = interaction.raw.get("metadata") or {}
                if event in interaction.description or event in map(str, metadata.values()):
                    return True
        return False

    @property
    def openapi_services(self) -> list[str]:
        return sorted(name for name, spec in self.manifest.services.items() if spec.openapi)

    @property
    def needs_proxies(self) -> bool:
        """Some interaction uses a state the harness sets with a fault on a proxy."""
        return any(
            state.name in FLEET_STATES
            for pact in self.pacts
            for interaction in pact.interactions
            for state in interaction.states
        )

    def services_to_start(self, *, verify: bool = True, openapi: bool = True) -> list[str]:
        wanted = set()
        if verify:
            wanted |= {p for p in self.providers if p in self.manifest.services}
        if openapi:
            wanted |= set(self.openapi_services)
        return sorted(wanted)


def make_plan(settings: ContractsSettings, manifest: Manifest) -> ContractPlan:
    return ContractPlan(settings, manifest, tuple(load_pacts(settings.pacts)))


def project_settings(project: Project) -> ContractsSettings:
    """contracts.yaml where the configuration says (``contracts.settings``)."""
    config = project.config
    return load_settings(
        config.root, config.contracts.settings, required=config.given("contracts.settings")
    )


def load_plan(project: Project) -> ContractPlan:
    """The plan of ``project``: its contracts.yaml, its pacts, its manifest (bad input raises
    before anything starts)."""
    return make_plan(project_settings(project), project.manifest)


def project_broker(project: Project) -> Broker | None:
    return broker_from_env(retries=project.config.contracts.broker_retries)


def open_session(project: Project, plan: ContractPlan, *, openapi: bool = True) -> ContractSession:
    """The session both adapters run: services started from ``project`` when first needed,
    verifications recorded under the project's version."""

    def start(services: Collection[str], proxied: bool) -> Fleet:
        return project.launch(services=services, proxied=proxied)

    return ContractSession(
        plan,
        start,
        version=current_version(project.root, project.config.contracts.version),
        branch=current_branch(project.root),
        broker=project_broker(project),
        openapi=openapi,
    )


def publish_pacts(project: Project, plan: ContractPlan) -> str | None:
    """Publish the pacts directory to the Pact Broker, when one is configured; its output
    (None: no broker). Raises :class:`BrokerError` when publishing fails."""
    broker = project_broker(project)
    if broker is None:
        return None
    version = current_version(project.root, project.config.contracts.version)
    return publish(broker, plan.settings.pacts, version, current_branch(project.root))


@dataclass(frozen=True)
class EvolutionResult:
    service: str
    baseline: Path
    changes: tuple[Change, ...] = ()
    missing_baseline: bool = False
    updated: bool = False
    error: str | None = None

    @property
    def breaking(self) -> list[Change]:
        return breaking(self.changes)

    @property
    def ok(self) -> bool:
        if self.error is not None:
            return False
        if self.updated:
            return True
        return not self.missing_baseline and not self.breaking

    def render(self) -> str:
        if self.error is not None:
            return f"{self.service}: {self.error}"
        if self.updated:
            return f"{self.service}: baseline {self.baseline} rewritten"
        if self.missing_baseline:
            return (
                f"{self.service}: no baseline at {self.baseline}; "
                "update the baselines to create it (harness contracts openapi-check "
                "--update-baseline, or pytest --contracts --contracts-update-baseline)"
            )
        head = f"{self.service}: {len(self.breaking)} breaking change(s) against {self.baseline}"
        return "\n".join([head, *(f"  {c.render()}" for c in self.changes)])


@dataclass
class ContractSession:
    plan: ContractPlan
    start_fleet: StartFleet
    version: str
    branch: str | None = None
    broker: Broker | None = None
    openapi: bool = True
    _fleet: Fleet | None = None
    _fleet_error: str | None = None
    _verifications: dict[str, ProviderVerification] = field(default_factory=dict)
    _documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    recorded: list[MatrixRow] = field(default_factory=list)
    _unstored: list[MatrixRow] = field(default_factory=list)
    # What became of the recorded rows (where they went, or why they went nowhere).
    notes: list[str] = field(default_factory=list)

    # --- the fleet ---------------------------------------------------------------------

    def fleet(self) -> Fleet | None:
        """The services the run needs, started on first use (None if they could not start)."""
        if self._fleet is None and self._fleet_error is None:
            services = self.plan.services_to_start(openapi=self.openapi)
            if not services:
                self._fleet_error = "nothing to start"
                return None
            try:
                self._fleet = self.start_fleet(services, self.plan.needs_proxies)
            except HarnessError as exc:
                self._fleet_error = f"the fleet did not start: {exc}"
            except Exception as exc:
                # Not ours, but still no fleet: every item reports it once, no retry per item.
                self._fleet_error = f"the fleet did not start: {exc!r}"
        return self._fleet

    @property
    def fleet_error(self) -> str | None:
        return self._fleet_error

    def close(self) -> None:
        try:
            self._store_recorded()
        finally:
            if self._fleet is not None:
                self._fleet.close()
                self._fleet = None

    def _store_recorded(self) -> None:
        rows, self._unstored = self._unstored, []
        if not rows:
            return
        ref = self.plan.settings.matrix
        try:
            stored = MatrixNotes.open(self.plan.settings.root, ref).record(rows)
        except ContractError as exc:
            # The verdicts stand; only can-i-deploy will not know them.
            self.notes.append(f"matrix: {len(rows)} verification(s) not recorded: {exc}")
            return
        self.notes.append(f"matrix: {stored.describe()}")

    # --- verification ------------------------------------------------------------------

    def producers(self, provider: str) -> Producers:
        reference = self.plan.settings.messages.get(provider)
        if reference is None:
            return {}
        return load_producers(reference, self.plan.settings.root)

    def verification(self, provider: str) -> ProviderVerification:
        if provider not in self._verifications:
            try:
                self._verifications[provider] = self._verify(provider)
            except Exception as exc:
                # Reported once, on every item of the provider, rather than retried per item.
                failed = ProviderVerification(provider, self.plan.pacts_for(provider))
                failed.problems.append(f"verification of {provider} failed: {exc!r}")
                self._verifications[provider] = failed
        return self._verifications[provider]

    def _verify(self, provider: str) -> ProviderVerification:
        pacts = self.plan.pacts_for(provider)
        if provider not in self.plan.manifest.services:
            outcome = ProviderVerification(provider, pacts)
            known = ", ".join(sorted(self.plan.manifest.services))
            outcome.problems.append(
                f"{provider} is named by {', '.join(p.path.name for p in pacts)} "
                f"but is not in the manifest (services: {known})"
            )
            return outcome
        fleet = self.fleet()
        if fleet is None or provider not in fleet.services:
            outcome = ProviderVerification(provider, pacts)
            outcome.problems.append(self._fleet_error or f"{provider} was not started")
            return outcome
        try:
            producers = self.producers(provider)
        except ContractError as exc:
            outcome = ProviderVerification(provider, pacts)
            outcome.problems.append(str(exc))
            return outcome
        states = FleetStates(fleet)
        try:
            outcome = verify_provider(
                provider,
                pacts,
                provider_url=fleet.url(provider),
                producers=producers,
                broker=self.broker,
                version=self.version,
                branch=self.branch,
                harness_states=states,
            )
        finally:
            states.restore()
        if self.broker is None:
            self._record(outcome)
        return outcome

    def _record(self, outcome: ProviderVerification) -> None:
        for pact in outcome.pacts:
            results = [outcome.result(pact.consumer, i.description) for i in pact.interactions]
            verified = sum(1 for r in results if r is not None and r.reported)
            row = row_for(
                pact,
                consumer_version=self.version,
                provider_version=self.version,
                failed=outcome.failed_descriptions(pact),
                pending_failed=[
                    r.description for r in results if r is not None and r.pending and not r.passed
                ],
                interactions=verified,
            )
            self.recorded.append(row)
            self._unstored.append(row)

    # --- OpenAPI -----------------------------------------------------------------------

    def document(self, service: str) -> dict[str, Any]:
        """The service's current OpenAPI, from its running process."""
        if service not in self._documents:
            spec = self.plan.manifest.services.get(service)
            if spec is None or not spec.openapi:
                raise ContractError(f"{service} serves no OpenAPI document (manifest)")
            fleet = self.fleet()
            if fleet is None or service not in fleet.services:
                raise ContractError(self._fleet_error or f"{service} was not started")
            try:
                _, self._documents[service] = openapi_document(service, spec, fleet.url(service))
            except OpenApiUnavailable as exc:
                raise ContractError(str(exc)) from exc
        return self._documents[service]

    def static_check(self, pact: PactFile) -> list[Drift]:
        """Drift of ``pact`` from its provider's OpenAPI (running service, else baseline)."""
        if not any(i.kind is InteractionKind.HTTP for i in pact.interactions):
            return []
        document = self._document_or_baseline(pact.provider)
        return check_pact(pact, document)

    def _document_or_baseline(self, service: str) -> dict[str, Any]:
        if self.openapi:
            return self.document(service)
        baseline = read_baseline(self.plan.settings.baseline(service))
        if baseline is None:
            raise ContractError(
                f"no OpenAPI for {service}: not started, and no baseline at "
                f"{self.plan.settings.baseline(service)}"
            )
        return baseline

    def evolution(self, service: str, *, update: bool) -> EvolutionResult:
        path = self.plan.settings.baseline(service)
        try:
            current = self.document(service)
            baseline = read_baseline(path)
        except ContractError as exc:
            return EvolutionResult(service, path, error=str(exc))
        changes = tuple(diff(baseline, current)) if baseline is not None else ()
        if update:
            written = write_baseline(path, current)
            return EvolutionResult(service, path, changes, baseline is None, updated=written)
        return EvolutionResult(service, path, changes, missing_baseline=baseline is None)


def summary_rows(recorded: Iterable[MatrixRow]) -> list[dict[str, Any]]:
    return [row.to_json() for row in recorded]
