"""What pact itself lets pass is a failure here: no interactions, unknown providers,
edges without a contract, providers nobody verified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.contracts.pactfile import PactFile, parse_pact
from harness.contracts.session import ContractPlan, ContractSession
from harness.contracts.settings import load_settings
from harness.contracts.verification import verify_provider
from harness.errors import FleetError
from harness.fleet.manifest import load_manifest
from tests.harness.contracts.conftest import ROOT, http_interaction, pact_document

MANIFEST = load_manifest(ROOT / "sample_services" / "fleet.yaml")


def pact(consumer: str, provider: str, *interactions: dict[str, Any]) -> PactFile:
    doc = pact_document(consumer, provider, *interactions)
    return parse_pact(doc, Path(f"{consumer}-{provider}.json"))


def plan(*pacts: PactFile) -> ContractPlan:
    return ContractPlan(load_settings(ROOT), MANIFEST, pacts)


def test_a_pact_outside_the_manifest_or_without_interactions_is_a_problem() -> None:
    ghost = pact("gateway", "billing", http_interaction("a"))
    empty = pact("gateway", "orders")
    p = plan(ghost, empty)
    [unknown] = p.problems_of(ghost)
    assert "the provider 'billing' is not in the manifest (services: gateway," in unknown
    assert p.problems_of(empty) == ["gateway-orders.json: the pact has no interactions"]


def test_an_empty_pact_verifies_nothing_and_fails() -> None:
    outcome = verify_provider("orders", [pact("gateway", "orders")], provider_url=None)
    assert not outcome.passed
    assert "gateway-orders.json: the pact has no interactions" in outcome.problems
    assert verify_provider("orders", [], provider_url=None).problems == [
        "no pact names orders as its provider"
    ]


def test_a_provider_outside_the_manifest_is_never_started() -> None:
    started: list[object] = []

    def start(services: object, proxied: bool) -> Any:
        started.append(services)
        raise FleetError("must not start")

    ghost = pact("gateway", "billing", http_interaction("a"))
    session = ContractSession(plan(ghost), start, version="v1")
    outcome = session.verification("billing")
    assert started == []
    assert not outcome.passed
    assert (
        "billing is named by gateway-billing.json but is not in the manifest" in outcome.problems[0]
    )


def test_a_fleet_that_cannot_start_fails_every_provider_with_the_reason() -> None:
    def start(services: object, proxied: bool) -> Any:
        raise FleetError("inventory not ready after 30 s")

    p = plan(pact("gateway", "inventory", http_interaction("a")))
    session = ContractSession(p, start, version="v1", openapi=False)
    outcome = session.verification("inventory")
    assert outcome.problems == ["the fleet did not start: inventory not ready after 30 s"]
    assert outcome.result("gateway", "a") is None


def test_coverage_names_every_edge_and_event_without_a_contract() -> None:
    p = plan(pact("gateway", "orders", http_interaction("a", path="/orders/O")))
    problems = p.coverage_problems()
    assert "gateway->orders: no pact with an HTTP interaction covers this edge" not in problems
    assert "orders->payments: no pact with an HTTP interaction covers this edge" in problems
    assert any("orders~>shipping: no message pact covers OrderCancelled" in x for x in problems)


def test_the_committed_pacts_cover_the_sample_fleet() -> None:
    from harness.contracts.pactfile import load_pacts

    assert plan(*load_pacts(ROOT / "contracts" / "pacts")).coverage_problems() == []


def test_proxies_only_when_a_pact_uses_a_harness_state() -> None:
    plain = pact("gateway", "shipping", http_interaction("a"))
    outage = pact(
        "gateway",
        "shipping",
        http_interaction(
            "b",
            states=[
                {
                    "name": "the database of {service} is unreachable",
                    "params": {"service": "shipping"},
                }
            ],
        ),
    )
    assert not plan(plain).needs_proxies
    assert plan(outage).needs_proxies
    assert plan(plain).services_to_start(openapi=False) == ["shipping"]


def test_no_pact_at_all_is_a_coverage_problem_even_without_edges() -> None:
    # A manifest without edges has no edge to report; zero pacts must still fail.
    lone = MANIFEST.model_copy(update={"services": {"inventory": MANIFEST.services["inventory"]}})
    empty = ContractPlan(load_settings(ROOT), lone, ())
    assert [p for p in empty.coverage_problems() if "covers" in p] == []
    [problem] = empty.coverage_problems()
    assert problem.startswith("nothing to verify: no pact with an interaction in ")
    assert plan(pact("gateway", "orders")).coverage_problems()[0].startswith("nothing to verify")
    covered = plan(pact("gateway", "orders", http_interaction("a", path="/orders/O")))
    assert not any(p.startswith("nothing to verify") for p in covered.coverage_problems())
