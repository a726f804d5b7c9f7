"""Orders under test with the real inventory and payments apps in-process.

The orders database comes from `database_url` (SQLite and PostgreSQL); inventory and
payments run on SQLite files of their own (their dialect is their own suites' business).
Each downstream is reached through a `Wire`: a transport that counts requests and can
refuse connections, answer 503, or lose a response after the callee acted on it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient

from sample_services.orders.app import create_app
from sample_services.orders.models import OutboxMessage
from sample_services.orders.saga import Saga
from sample_services.orders.settings import OrdersSettings
from tests.sample_services.conftest import INVENTORY, PAYMENTS

# For tests whose subject does not depend on the dialect: PostgreSQL adds nothing but time.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

Fault = Literal["refuse", "unavailable", "lose_response", "crash"]


class Crash(Exception):
    """Stands for the orders process dying in the middle of a call."""


@dataclass
class Wire(httpx.BaseTransport):
    """The line from orders to one downstream app."""

    app: TestClient
    hits: list[httpx.Request] = field(default_factory=list)
    fault: Callable[[httpx.Request], Fault | None] = lambda _request: None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.hits.append(request)
        fault = self.fault(request)
        if fault == "refuse":
            raise httpx.ConnectError("connection refused", request=request)
        if fault == "crash":
            raise Crash(f"crashed while calling {request.url.path}")
        if fault == "unavailable":
            return httpx.Response(503, json={"detail": "down", "code": "unavailable"})
        request.read()
        answer = self.app.request(
            request.method,
            request.url.raw_path.decode(),
            content=request.content,
            headers=dict(request.headers),
        )
        if fault == "lose_response":
            # The callee did the work; its answer never arrives.
            raise httpx.ReadTimeout("response lost", request=request)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url="http://testserver", transport=self)

    def calls(self, method: str, path_prefix: str) -> list[httpx.Request]:
        return [r for r in self.hits if r.method == method and r.url.path.startswith(path_prefix)]


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def fast_settings(database_url: str, **overrides: Any) -> OrdersSettings:
    """Short deadlines and backoffs; no background worker unless a test asks for one."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "http_retry_attempts": 2,
        "http_backoff_base": 0.005,
        "http_backoff_cap": 0.01,
        # Keep the breaker out of the way: these tests are about the saga's own retries.
        "breaker_fail_max": 1000,
        "saga_step_deadline": 0.4,
        "saga_backoff_base": 0.01,
        "saga_backoff_cap": 0.05,
        "saga_scan_interval": 0.05,
        "saga_workers": 0,
    }
    values.update(overrides)
    return OrdersSettings(**values)


@pytest.fixture
def inventory(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(INVENTORY.sqlite_app(tmp_path)) as client:
        yield client


@pytest.fixture
def payments(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(PAYMENTS.sqlite_app(tmp_path)) as client:
        yield client


@pytest.fixture
def inventory_wire(inventory: TestClient) -> Wire:
    return Wire(inventory)


@pytest.fixture
def payments_wire(payments: TestClient) -> Wire:
    return Wire(payments)


@pytest.fixture
def stocked(inventory: TestClient, payments: TestClient) -> None:
    """SKU-1: 5 units; account ACC-1: 10 000 cents."""
    assert inventory.put("/stock/SKU-1", json={"available": 5}).status_code == 200
    assert payments.put("/accounts/ACC-1", json={"balance_cents": 10_000}).status_code == 200


@dataclass
class Orders:
    """An orders app started (lifespan run) with its client and its saga at hand."""

    app: FastAPI
    client: TestClient

    @property
    def saga(self) -> Saga:
        saga: Saga = self.app.state.saga
        return saga

    def place(
        self, quantity: int = 2, *, key: str = "k-1", account: str = "ACC-1"
    ) -> dict[str, Any]:
        response = self.client.post(
            "/orders",
            json={
                "account_id": account,
                "items": [{"sku": "SKU-1", "quantity": quantity, "unit_price_cents": 300}],
            },
            headers={"Idempotency-Key": key},
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    def outbox(self) -> list[OutboxMessage]:
        with self.app.state.db.session() as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    def saga_steps(self, order_id: str) -> dict[str, dict[str, Any]]:
        body = self.client.get(f"/orders/{order_id}/saga").json()
        return {step["name"]: step for step in body["steps"]}


OrdersFactory = Callable[..., Orders]


@pytest.fixture
def orders_factory(
    database_url: str, inventory_wire: Wire, payments_wire: Wire
) -> Iterator[OrdersFactory]:
    """Start orders apps on the same database (a second one is a restart)."""
    started: list[TestClient] = []

    def start(http: dict[str, httpx.Client] | None = None, **overrides: Any) -> Orders:
        routes = {"inventory": inventory_wire.client(), "payments": payments_wire.client()}
        routes.update(http or {})
        app = create_app(fast_settings(database_url, **overrides), http=routes)
        client = TestClient(app)
        client.__enter__()
        started.append(client)
        return Orders(app, client)

    yield start
    for client in reversed(started):
        client.__exit__(None, None, None)


@pytest.fixture
def orders(orders_factory: OrdersFactory) -> Orders:
    return orders_factory()
