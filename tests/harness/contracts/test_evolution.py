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


def test_a_renamed_or_removed_operation_id_is_breaking() -> None:
    def edit(doc: Any) -> None:
        doc["paths"]["/stock/{sku}"]["get"]["operationId"] = "read_stock"
        del doc["paths"]["/reservations/{order_id}"]["get"]["operationId"]

    broken, _ = changed("inventory", edit)
    assert (
        "BREAKING: operationId changed: GET /stock/{sku} "
        "('get_stock_stock__sku__get' -> 'read_stock')" in broken
    )
    assert (
        "BREAKING: operationId removed: GET /reservations/{order_id} "
        "('get_reservation_reservations__order_id__get')" in broken
    )


def test_an_operation_id_where_there_was_none_is_additive() -> None:
    old = baseline("inventory")
    del old["paths"]["/healthz"]["get"]["operationId"]
    changes = diff(old, baseline("inventory"))
    assert breaking(changes) == []
    assert [c.render() for c in changes] == [
        "additive: operationId added: GET /healthz ('healthz_healthz_get')"
    ]


def test_a_removed_response_link_is_breaking() -> None:
    def edit(doc: Any) -> None:
        del doc["paths"]["/reservations"]["post"]["responses"]["201"]["links"]["GetReservation"]

    broken, _ = changed("inventory", edit)
    assert broken == ["BREAKING: link removed: POST /reservations -> 201 link GetReservation"]


def test_a_link_with_another_target_or_other_parameters_is_breaking() -> None:
    def edit(doc: Any) -> None:
        links = doc["paths"]["/reservations"]["post"]["responses"]["201"]["links"]
        links["GetReservation"]["operationRef"] = "#/paths/~1stock~1{sku}/get"
        links["ReleaseReservation"]["parameters"] = {"order_id": "$request.body#/order_id"}
        reserve = doc["paths"]["/stock/{sku}"]["put"]["responses"]["200"]["links"]["ReserveStock"]
        reserve["requestBody"]["order_id"] = "reserve-{$response.body#/available}"

    broken, _ = changed("inventory", edit)
    assert (
        "BREAKING: link target changed: POST /reservations -> 201 link GetReservation "
        "(GET /reservations/{order_id} -> GET /stock/{sku})" in broken
    )
    assert (
        "BREAKING: link parameters changed: POST /reservations -> 201 link ReleaseReservation "
        "(order_id: '$response.body#/order_id' -> '$request.body#/order_id')" in broken
    )
    body = "BREAKING: link requestBody changed: PUT /stock/{sku} -> 200 link ReserveStock ("
    assert any(c.startswith(body) and "$response.body#/available" in c for c in broken)


def test_an_added_link_or_the_same_target_by_operation_id_passes() -> None:
    def edit(doc: Any) -> None:
        links = doc["paths"]["/reservations"]["post"]["responses"]["201"]["links"]
        links["GetStock"] = {
            "operationId": "get_stock_stock__sku__get",
            "parameters": {"sku": "$request.body#/items/0/sku"},
        }
        # The same operation, named by its id instead of a reference: no change.
        get = links["GetReservation"]
        del get["operationRef"]
        get["operationId"] = "get_reservation_reservations__order_id__get"

    broken, everything = changed("inventory", edit)
    assert broken == []
    assert everything == [
        "additive: link added: POST /reservations -> 201 link GetStock (to GET /stock/{sku})"
    ]


def test_a_link_moved_into_components_is_no_change() -> None:
    def edit(doc: Any) -> None:
        links = doc["paths"]["/reservations"]["post"]["responses"]["201"]["links"]
        doc["components"]["links"] = {"GetReservation": links["GetReservation"]}
        links["GetReservation"] = {"$ref": "#/components/links/GetReservation"}

    broken, everything = changed("inventory", edit)
    assert broken == []
    assert everything == []
