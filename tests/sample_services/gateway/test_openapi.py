"""The gateway's OpenAPI tells the truth: security, error statuses, strict models, no hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.sample_services.gateway.conftest import Fleet

METHODS = ("get", "put", "post", "delete")


@pytest.fixture
def spec(fleet_factory: Callable[..., Fleet]) -> dict[str, Any]:
    document: dict[str, Any] = fleet_factory().gateway.get("/openapi.json").json()
    return document


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_bearer_scheme_is_declared(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["type"] == "http"
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["HTTPBearer"]["bearerFormat"] == "JWT"


def test_every_api_operation_requires_the_token_and_documents_its_errors(
    spec: dict[str, Any],
) -> None:
    api = [(p, m, op) for p, m, op in _operations(spec) if p.startswith("/api/")]
    assert len(api) == 10
    for path, method, op in api:
        where = f"{method.upper()} {path}"
        assert op["security"] == [{"HTTPBearer": []}], where
        assert op.get("summary"), where
        for status in ("401", "429", "503", "422"):
            assert status in op["responses"], f"{where} lacks {status}"
        assert "Retry-After" in op["responses"]["429"]["headers"], where
        for status in ("401", "422", "429", "503"):
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, f"{where} {status}"
        # 403 only where a scope is needed: a documented status the route never sends lies.
        assert ("403" in op["responses"]) == (method == "put"), where


def test_request_models_are_closed(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name in ("CreateOrder", "OrderItemIn", "SetStock", "SetBalance"):
        assert schemas[name]["additionalProperties"] is False, name
    assert schemas["OrderItemIn"]["properties"]["quantity"]["exclusiveMinimum"] == 0


def test_composed_order_documents_a_nullable_shipment(spec: dict[str, Any]) -> None:
    view = spec["components"]["schemas"]["OrderView"]
    assert "shipment" in view["required"]
    variants = view["properties"]["shipment"]["anyOf"]
    assert {"type": "null"} in variants


def test_token_issuer_and_test_hooks_are_absent_by_default(spec: dict[str, Any]) -> None:
    assert "/auth/token" not in spec["paths"]
    assert not [p for p in spec["paths"] if p.startswith("/_test")]


def test_token_issuer_is_documented_when_enabled(fleet_factory: Callable[..., Fleet]) -> None:
    spec = fleet_factory(enable_token_issuer=True, enable_test_hooks=True).gateway.get(
        "/openapi.json"
    )
    paths = spec.json()["paths"]
    assert "post" in paths["/auth/token"]
    assert not [p for p in paths if p.startswith("/_test")]
