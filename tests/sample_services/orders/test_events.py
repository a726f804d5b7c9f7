"""The event builders: the envelope and data every consumer of `orders.events` reads."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

from sample_services.orders import events
from sample_services.orders.models import OutboxMessage
from sample_services.shipping.inbox import parse_event
from tests.sample_services.shipping.conftest import OrderStub


def test_order_confirmed_has_the_documented_envelope_and_data() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))

    event = events.order_confirmed(OrderStub("O-1"), occurred_at=when)

    assert event.type == "OrderConfirmed"
    assert uuid.UUID(event.event_id).version == 4
    assert event.data == {
        "order_id": "O-1",
        "account_id": "ACC-1",
        "items": [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 300}],
        "amount_cents": 600,
        "occurred_at": "2026-01-02T01:04:05Z",
    }
    fields = event.stream_fields()
    assert set(fields) == {"event_id", "type", "data"}
    assert json.loads(fields["data"]) == event.data


def test_each_event_has_its_own_id_unless_given_one() -> None:
    order = OrderStub("O-1")

    first, second = events.order_cancelled(order), events.order_cancelled(order)

    assert first.type == "OrderCancelled"
    assert first.event_id != second.event_id
    assert events.order_cancelled(order, event_id="e-1").event_id == "e-1"
    assert datetime.fromisoformat(first.data["occurred_at"]) <= datetime.now(UTC)


def test_the_outbox_stores_exactly_what_goes_out_and_shipping_reads_it() -> None:
    event = events.order_confirmed(OrderStub("O-1"))

    row = OutboxMessage.of(event, "O-1")

    assert row.stream_fields() == event.stream_fields()
    parsed = parse_event(row.stream_fields())
    assert (parsed.event_id, parsed.type, parsed.order_id) == (event.event_id, event.type, "O-1")
