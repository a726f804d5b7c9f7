"""Request id and W3C trace context: the backend sees what the caller gets back."""

from __future__ import annotations

import re

from tests.sample_services.gateway.conftest import Fleet, bearer

STOCK = {"sku": "S1", "available": 5, "reserved": 0, "sold": 0, "received": 5}
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def _trace_id(header: str) -> str:
    match = TRACEPARENT.match(header)
    assert match, header
    return match.group(1)


def _stocked(fleet: Fleet) -> Fleet:
    fleet.backends["inventory"].answer("GET", "/stock/S1", 200, STOCK)
    return fleet


def test_request_id_is_assigned_and_forwarded(fleet: Fleet) -> None:
    response = _stocked(fleet).gateway.get("/api/stock/S1", headers=bearer())
    rid = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert fleet.backends["inventory"].calls[0].headers["x-request-id"] == rid


def test_a_callers_request_id_is_echoed_and_forwarded(fleet: Fleet) -> None:
    headers = {**bearer(), "X-Request-ID": "caller-rid-42"}
    response = _stocked(fleet).gateway.get("/api/stock/S1", headers=headers)
    assert response.headers["x-request-id"] == "caller-rid-42"
    assert fleet.backends["inventory"].calls[0].headers["x-request-id"] == "caller-rid-42"


def test_one_trace_spans_the_gateway_and_the_backend(fleet: Fleet) -> None:
    response = _stocked(fleet).gateway.get("/api/stock/S1", headers=bearer())
    gateway_trace = _trace_id(response.headers["traceparent"])
    backend_header = fleet.backends["inventory"].calls[0].headers["traceparent"]
    assert _trace_id(backend_header) == gateway_trace
    # The backend's parent is the gateway's client span, not the gateway's server span.
    assert backend_header != response.headers["traceparent"]


def test_a_callers_trace_is_continued(fleet: Fleet) -> None:
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    headers = {**bearer(), "traceparent": caller}
    response = _stocked(fleet).gateway.get("/api/stock/S1", headers=headers)
    assert _trace_id(response.headers["traceparent"]) == "4bf92f3577b34da6a3ce929d0e0e4736"
    backend_header = fleet.backends["inventory"].calls[0].headers["traceparent"]
    assert _trace_id(backend_header) == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_both_hops_of_a_composed_read_share_request_and_trace(fleet: Fleet) -> None:
    order = {
        "order_id": "o-1",
        "status": "CONFIRMED",
        "account_id": "a",
        "items": [],
        "amount_cents": 0,
        "failure_reason": None,
    }
    fleet.backends["orders"].answer("GET", "/orders/o-1", 200, order)
    response = fleet.gateway.get("/api/orders/o-1", headers=bearer())
    hops = [fleet.backends["orders"].calls[0], fleet.backends["shipping"].calls[0]]
    assert {h.headers["x-request-id"] for h in hops} == {response.headers["x-request-id"]}
    trace = _trace_id(response.headers["traceparent"])
    assert {_trace_id(h.headers["traceparent"]) for h in hops} == {trace}


def test_rejections_carry_the_request_id_too(fleet: Fleet) -> None:
    response = fleet.gateway.get("/api/stock/S1", headers={"X-Request-ID": "rid-401"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "rid-401"
