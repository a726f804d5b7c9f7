"""The state machine's client and helpers, on a mock transport: 5xx fails, waits are bounded."""

from __future__ import annotations

import time

import httpx
import pytest
from hypothesis.stateful import rule

from harness.fuzz.errors import FuzzError
from harness.fuzz.state_machine import (
    FleetBinding,
    FleetClient,
    FleetStateMachine,
    NotSettled,
    ServerError,
    bind,
    eventually,
)


def client(status: int, seen: list[httpx.Request] | None = None) -> FleetClient:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, json={"detail": "boom"})

    http = httpx.Client(transport=httpx.MockTransport(handle))
    return FleetClient({"gw": "http://gw"}, tokens={"gw": "t0k"}, http=http)


def test_a_5xx_fails_the_step_with_a_curl_line() -> None:
    with pytest.raises(ServerError) as failed:
        client(503).post("gw", "/api/orders", json_body={"n": 1}, headers={"Idempotency-Key": "k"})
    text = str(failed.value)
    assert text.startswith("POST gw /api/orders answered 503")
    assert (
        "curl -X POST -H 'Idempotency-Key: k' -H \"Authorization: Bearer $HARNESS_TOKEN\"" in text
    )
    assert "-d '{\"n\": 1}' http://gw/api/orders" in text
    assert "t0k" not in text  # the token itself is never printed


def test_tokens_are_added_and_calls_recorded() -> None:
    seen: list[httpx.Request] = []
    fleet = client(200, seen)
    assert fleet.get("gw", "/x").status_code == 200
    assert seen[0].headers["authorization"] == "Bearer t0k"
    assert [(c.service, c.method, c.path, c.status) for c in fleet.calls] == [
        ("gw", "GET", "/x", 200)
    ]
    with pytest.raises(FuzzError, match="unknown service 'nope'"):
        fleet.get("nope", "/")


def test_concurrent_calls_start_together() -> None:
    fleet = client(200)
    started: list[float] = []

    def call() -> int:
        started.append(time.monotonic())
        return fleet.get("gw", "/x").status_code

    assert fleet.concurrently(call, call) == [200, 200]
    assert abs(started[0] - started[1]) < 0.05


def test_eventually_returns_the_value_or_fails_in_time() -> None:
    values = iter([None, False, {"status": "CONFIRMED"}])
    assert eventually(lambda: next(values), timeout=1, what="saga") == {"status": "CONFIRMED"}
    began = time.monotonic()
    with pytest.raises(NotSettled, match=r"never: not within 0\.2 s"):
        eventually(lambda: None, timeout=0.2, what="never")
    assert time.monotonic() - began < 1


def test_a_machine_needs_a_fleet() -> None:
    class Bare(FleetStateMachine):
        @rule()
        def nothing(self) -> None:
            pass

    with pytest.raises(FuzzError, match="not bound to a fleet"):
        Bare()
    bound = bind(Bare, FleetBinding(urls={}))
    assert bound.binding is not None
    assert bound.__name__ == "Bare"
