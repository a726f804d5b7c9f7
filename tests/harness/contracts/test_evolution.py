"""API evolution: breaking changes against a baseline are listed; additive ones pass."""

from __future__ import annotations

import copy
from typing import Any

from harness.contracts.evolution import breaking, diff
from tests.harness.contracts.conftest import baseline


def changed(service: str, edit: Any) -> tuple[list[str], list[str]]:
    old = baseline(service)
    new = copy.deepcopy(old)
    edit(new)
    changes = diff(old, new)
    return [c.render() for c in breaking(changes)], [c.render() for c in changes]


def test_an_unchanged_document_has_no_changes() -> None:
    assert diff(baseline("orders"), baseline("orders")) == []


def test_removing_a_response_field_is_breaking() -> None:
    def drop(doc: Any) -> None:
        schema = doc["components"]["schemas"]["StockOut"]
        del schema["properties"]["reserved"]
        schema["required"].remove("reserved")

    broken, _ = changed("inventory", drop)
    assert "BREAKING: field removed: GET /stock/{sku} -> 200 body $.reserved" in broken


def test_adding_a_response_field_is_not() -> None:
    def add(doc: Any) -> None:
        doc["components"]["schemas"]["StockOut"]["properties"]["location"] = {"type": "string"}

    broken, everything = changed("inventory", add)
    assert broken == []
    assert "additive: field added: GET /stock/{sku} -> 200 body $.location" in everything


def test_removed_operations_and_statuses_are_breaking() -> None:
    def edit(doc: Any) -> None:
        del doc["paths"]["/stock/{sku}"]["put"]
        del doc["paths"]["/reservations"]["post"]["responses"]["409"]

    broken, _ = changed("inventory", edit)
    assert "BREAKING: operation removed: PUT /stock/{sku}" in broken
    assert "BREAKING: status removed: POST /reservations -> 409" in broken


def test_a_new_required_parameter_or_request_field_is_breaking() -> None:
    def edit(doc: Any) -> None:
        op = doc["paths"]["/stock/{sku}"]["get"]
        op["parameters"].append(
            {"name": "warehouse", "in": "query", "required": True, "schema": {"type": "string"}}
        )
        level = doc["components"]["schemas"]["StockLevel"]
        level["properties"]["reason"] = {"type": "string"}
        level["required"].append("reason")

    broken, _ = changed("inventory", edit)
    assert "BREAKING: new required parameter: GET /stock/{sku} query parameter warehouse" in broken
    assert "BREAKING: new required field: PUT /stock/{sku} request body $.reason" in broken


def test_an_optional_parameter_is_additive() -> None:
    def edit(doc: Any) -> None:
        doc["paths"]["/stock/{sku}"]["get"]["parameters"].append(
            {"name": "verbose", "in": "query", "required": False, "schema": {"type": "boolean"}}
        )

    broken, everything = changed("inventory", edit)
    assert broken == []
    assert any("parameter added" in c for c in everything)


def test_narrowed_types_and_removed_enum_values_are_breaking() -> None:
    def edit(doc: Any) -> None:
        schemas = doc["components"]["schemas"]
        schemas["StockLevel"]["properties"]["available"]["maximum"] = 10
        schemas["ReservationStatus"]["enum"].remove("RELEASED")
        schemas["StockOut"]["properties"]["sold"] = {"type": "string"}

    broken, _ = changed("inventory", edit)
    text = "\n".join(broken)
    assert "type narrowed: PUT /stock/{sku} request body $.available (maximum" in text
    assert (
        "enum value removed: GET /reservations/{order_id} -> 200 body $.status ('RELEASED')" in text
    )
    assert "type changed: GET /stock/{sku} -> 200 body $.sold (integer -> string)" in text


def test_a_response_field_made_optional_is_breaking() -> None:
    def edit(doc: Any) -> None:
        doc["components"]["schemas"]["AccountOut"]["required"].remove("credited_cents")

    broken, _ = changed("payments", edit)
    assert (
        "BREAKING: field became optional: GET /accounts/{account_id} -> 200 body $.credited_cents"
        in broken
    )
