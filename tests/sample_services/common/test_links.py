"""OpenAPI links: every link of every service leads somewhere real, with values that exist.

Schemathesis' stateful phase follows these links (``pytest --fuzz``); a link to a moved
route, or from a field the response does not have, would make it fail or quietly test less.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI

from sample_services.common.links import link, operation_ref, response_field
from sample_services.gateway.app import create_app as create_gateway
from sample_services.gateway.settings import GatewaySettings
from sample_services.inventory.app import create_app as create_inventory
from sample_services.inventory.settings import InventorySettings
from sample_services.orders.app import create_app as create_orders
from sample_services.orders.settings import OrdersSettings
from sample_services.payments.app import create_app as create_payments
from sample_services.payments.settings import PaymentsSettings

METHODS = ("get", "put", "post", "delete", "patch")
RESPONSE_BODY = "$response.body#/"


def _sqlite(directory: Path, name: str) -> str:
    return f"sqlite:///{directory / f'{name}.db'}"


APPS: dict[str, Callable[[Path], FastAPI]] = {
    "orders": lambda d: create_orders(OrdersSettings(database_url=_sqlite(d, "orders"))),
    "inventory": lambda d: create_inventory(
        InventorySettings(database_url=_sqlite(d, "inventory"))
    ),
    "payments": lambda d: create_payments(PaymentsSettings(database_url=_sqlite(d, "payments"))),
    "gateway": lambda d: create_gateway(GatewaySettings()),
}


@pytest.fixture(params=sorted(APPS))
def document(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    openapi: dict[str, Any] = APPS[request.param](tmp_path).openapi()
    return openapi


def _pointer(document: Mapping[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _schema(document: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = _pointer(document, schema["$ref"])
    return schema


def _links(
    document: Mapping[str, Any],
) -> Iterator[tuple[str, Mapping[str, Any], str, Mapping[str, Any]]]:
    """(where, source response, link name, link) for every link of the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            for status, response in operation["responses"].items():
                for name, definition in response.get("links", {}).items():
                    yield f"{method.upper()} {path} -> {status}", response, name, definition


def _expressions(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if RESPONSE_BODY in value:
            yield value[value.index(RESPONSE_BODY) :].rstrip("}")
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _expressions(item)


def test_every_link_reaches_an_operation_with_fields_the_answer_has(
    document: dict[str, Any],
) -> None:
    found = list(_links(document))
    assert found, "no links: the stateful fuzzing phase would have nothing to follow"
    for where, response, name, definition in found:
        at = f"{where} link {name}"
        assert set(definition) <= {
            "operationRef",
            "description",
            "parameters",
            "requestBody",
            "x-schemathesis",
        }, at
        assert definition.get("description"), at
        target = _pointer(document, definition["operationRef"])
        # Every path parameter of the target comes from the answer; no name is made up.
        declared = {p["name"]: p["in"] for p in target.get("parameters", [])}
        given = set(definition.get("parameters", {}))
        needed = {name for name, where_ in declared.items() if where_ == "path"}
        assert needed <= given <= set(declared), at
        if "requestBody" in definition:
            assert "requestBody" in target, at
        answer = _schema(document, response["content"]["application/json"]["schema"])
        values = [definition.get("parameters"), definition.get("requestBody")]
        expressions = list(_expressions(values))
        assert expressions, at
        for expression in expressions:
            field = expression.removeprefix(RESPONSE_BODY)
            assert field in answer["properties"], f"{at}: the answer has no {field!r}"


def test_schemathesis_reads_the_links(document: dict[str, Any]) -> None:
    # Builds its state machine from them, and refuses (InvalidStateMachine) a link it cannot
    # resolve: what `pytest --fuzz` would otherwise report as an error of the stateful phase.
    schemathesis.openapi.from_dict(document).as_state_machine()


def _targets(document: Mapping[str, Any], path: str, method: str, status: str) -> set[str]:
    links = document["paths"][path][method]["responses"][status]["links"]
    return {link["operationRef"] for link in links.values()}


def test_an_accepted_order_leads_to_the_order_its_saga_and_its_cancellation(
    tmp_path: Path,
) -> None:
    for service, prefix in (("orders", ""), ("gateway", "/api")):
        document = APPS[service](tmp_path).openapi()
        order = f"{prefix}/orders/{{order_id}}"
        expected = {
            operation_ref("GET", order),
            operation_ref("GET", f"{order}/saga"),
            operation_ref("POST", f"{order}/cancel"),
        }
        assert _targets(document, f"{prefix}/orders", "post", "202") == expected, service


def test_operation_refs_are_json_pointers() -> None:
    assert operation_ref("GET", "/orders/{order_id}") == "#/paths/~1orders~1{order_id}/get"
    assert operation_ref("POST", "/a~b/c") == "#/paths/~1a~0b~1c/post"


def test_a_link_body_is_sent_as_given() -> None:
    definition = link(
        "POST",
        "/reservations",
        "Reserve it",
        request_body={"order_id": response_field("sku", "reserve-{}")},
    )

    assert definition["requestBody"] == {"order_id": "reserve-{$response.body#/sku}"}
    assert definition["x-schemathesis"] == {"merge_body": False}
    assert "parameters" not in definition
    assert response_field("sku") == "$response.body#/sku"
