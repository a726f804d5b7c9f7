"""Shipping against a real Redis (`redis_url`), fed with events from orders' real builders."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from sample_services.common.broker import Streams
from sample_services.orders import events
from sample_services.shipping.consumer import GROUP, STREAM
from sample_services.shipping.settings import ShippingSettings


@dataclass(frozen=True)
class OrderStub:
    """Enough of an order for the event builders."""

    id: str
    account_id: str = "ACC-1"
    items: list[dict[str, Any]] = field(
        default_factory=lambda: [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 300}]
    )
    amount_cents: int = 600


def confirmed(order_id: str) -> events.Event:
    return events.order_confirmed(OrderStub(order_id))


def cancelled(order_id: str) -> events.Event:
    return events.order_cancelled(OrderStub(order_id))


@pytest.fixture
def broker(redis_url: str) -> Iterator[Streams]:
    streams = Streams(redis_url, timeout=1.0)
    yield streams
    streams.close()


def publish(broker: Streams, *entries: events.Event | dict[str, str]) -> None:
    broker.publish(
        STREAM,
        [e.stream_fields() if isinstance(e, events.Event) else e for e in entries],
    )


def pending(broker: Streams) -> int:
    """Entries delivered and not yet acknowledged; -1 until the consumer made its group."""
    try:
        summary: Any = broker.client.xpending(STREAM, GROUP)
    except redis.ResponseError as exc:
        if "NOGROUP" in str(exc):
            return -1
        raise
    return int(summary["pending"])


def shipping_settings(database_url: str, redis_url: str, **overrides: Any) -> ShippingSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "broker_url": redis_url,
        "broker_timeout": 0.5,
        "shipping_consumer_name": "shipping-test",
        "shipping_block_ms": 50,
        "shipping_claim_idle_ms": 200,
        "shipping_claim_interval": 0.05,
        "shipping_backoff_cap": 0.1,
    }
    values.update(overrides)
    return ShippingSettings(**values)
