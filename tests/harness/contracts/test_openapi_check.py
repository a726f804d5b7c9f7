"""Pact vs OpenAPI: drift is caught and named (interaction, place, schema path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.contracts.openapi_check import check_pact, find_operation
from harness.contracts.pactfile import load_pacts, parse_pact
from tests.harness.contracts.conftest import PACTS, baseline, http_interaction, pact_document

STOCK = {"sku": "SKU-1", "available": 5, "reserved": 0, "sold": 0, "received": 5}


def drifts(provider: str, *interactions: dict[str, object]) -> list[str]:
    pact = parse_pact(pact_document("web", provider, *interactions), Path("web-x.json"))
    return [d.render() for d in check_pact(pact, baseline(provider))]


def test_an_endpoint_the_provider_lacks_is_drift() -> None:
    [found] = drifts("inventory", http_interaction("stock history", path="/stock/SKU-1/history"))
    assert "web -> inventory: stock history" in found
    assert "no operation for GET /stock/SKU-1/history" in found
    assert "GET /stock/{sku}" in found  # what is documented, to help the reader


def test_a_field_the_provider_does_not_document_is_drift() -> None:
    body = {**STOCK, "avail": 5}
    del body["available"]
    [found] = drifts("inventory", http_interaction("stock", body=body))
    assert "response body $.avail" in found
    assert "field 'avail' is not in the schema" in found
    assert "schema: #/components/schemas/StockOut/properties" in found


def test_a_wrong_type_names_the_schema_path() -> None:
    [found] = drifts("inventory", http_interaction("stock", body={**STOCK, "available": "5"}))
    assert "$.available" in found
    assert "string '5' where the schema has integer" in found
    assert "#/components/schemas/StockOut/properties/available/type" in found


def test_an_undocumented_status_is_drift() -> None:
    [found] = drifts("inventory", http_interaction("stock", status=418))
    assert "status 418 is not documented (documented: 200, 404, 422, 503)" in found


def test_request_side_drift_required_fields_headers_and_query() -> None:
    charge = http_interaction(
        "charge",
        method="POST",
        path="/payments",
        status=201,
        request_body={"order_id": "O-1", "amount_cents": 10},
    )
    found = "\n".join(drifts("payments", charge))
    assert "required field 'account_id' is missing" in found
    assert "required header 'Idempotency-Key' is missing" in found
    listing = http_interaction("list", path="/payments", query={"order": ["O-1"]})
    found = "\n".join(drifts("payments", listing))
    assert "required query parameter 'order_id' is missing" in found
    assert "query parameter 'order' is not declared" in found


def test_a_path_parameter_outside_its_pattern_is_drift() -> None:
    [found] = drifts("inventory", http_interaction("odd sku", path="/stock/-bad"))
    assert "path parameter sku" in found
    assert "does not match" in found


def test_literal_segments_win_over_templates() -> None:
    doc = {"paths": {"/a/{x}": {"get": {}}, "/a/b": {"get": {"operationId": "literal"}}}}
    op = find_operation(doc, "GET", "/a/b")
    assert op is not None
    assert op.spec.get("operationId") == "literal"


@pytest.mark.parametrize("pact", load_pacts(PACTS), ids=lambda p: p.pair)
def test_every_committed_pact_fits_its_providers_baseline(pact: object) -> None:
    from harness.contracts.pactfile import PactFile

    assert isinstance(pact, PactFile)
    assert [d.render() for d in check_pact(pact, baseline(pact.provider))] == []
