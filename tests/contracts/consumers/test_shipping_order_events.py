"""orders ~> shipping: the order events, handled by shipping's real inbox code.

The example message pact generates is handed to shipping's event handling exactly as its
consumer thread does it (`parse_event`, then `receive` in one transaction with the inbox),
on a SQLite database of shipping's own tables; the test checks the effect it must have.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pact import match

from sample_services.common.db import Database
from sample_services.shipping.inbox import parse_event, receive
from sample_services.shipping.models import Base, Shipment
from tests.contracts.consumers.conftest import ID, ISO_UTC, ConsumerPact

pytestmark = pytest.mark.contracts

EVENT_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


@pytest.fixture
def shipping_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'shipping.db'}", Base)
    db.create_schema()
    yield db
    db.engine.dispose()


def event(kind: str, order_id: str) -> dict[str, Any]:
    return {
        "event_id": match.uuid(EVENT_ID),
        "type": kind,
        "data": {
            "order_id": match.regex(order_id, regex=ID),
            "account_id": match.str("ACC-1"),
            "items": match.each_like(
                {
                    "sku": match.str("SKU-1"),
                    "quantity": match.int(1),
                    "unit_price_cents": match.int(500),
                }
            ),
            "amount_cents": match.int(500),
            "occurred_at": match.regex("2026-01-02T03:04:05.678901Z", regex=ISO_UTC),
        },
    }


def handler(db: Database) -> Callable[[Any, dict[str, object]], None]:
    def handle(body: Any, metadata: dict[str, object]) -> None:
        assert metadata["stream"] == "orders.events"
        receive(db, parse_event(json.loads(str(body))))

    return handle


def shipment_status(db: Database, order_id: str) -> str | None:
    with db.session() as session:
        shipment = session.get(Shipment, order_id)
        return None if shipment is None else shipment.status


def test_order_confirmed_creates_a_shipment(
    consumer_pact: ConsumerPact, shipping_db: Database
) -> None:
    pact = consumer_pact("shipping", "orders")
    (
        pact.upon_receiving("an OrderConfirmed event", "Async")
        .given("order {order_id} is CONFIRMED", order_id="O-500")
        .with_body(event("OrderConfirmed", "O-500"), content_type="application/json")
        .with_metadata(stream="orders.events", type="OrderConfirmed")
    )
    pact.verify(handler(shipping_db), "Async")
    assert shipment_status(shipping_db, "O-500") == "CREATED"


def test_order_cancelled_cancels_the_shipment(
    consumer_pact: ConsumerPact, shipping_db: Database
) -> None:
    pact = consumer_pact("shipping", "orders")
    (
        pact.upon_receiving("an OrderCancelled event", "Async")
        .given("order {order_id} is CANCELLED", order_id="O-501")
        .with_body(event("OrderCancelled", "O-501"), content_type="application/json")
        .with_metadata(stream="orders.events", type="OrderCancelled")
    )
    pact.verify(handler(shipping_db), "Async")
    assert shipment_status(shipping_db, "O-501") == "CANCELLED"
