"""Message producers of the sample fleet, for provider-side message verification.

The verifier asks for "an OrderConfirmed event" after setting the provider state (e.g.
"order {order_id} is CONFIRMED") in the running orders service through its test hook. The
producer reads that order back from orders and builds the event with orders' own builders
(`sample_services/orders/events.py`), serialised exactly as the relay sends it
(`Event.stream_fields()`), with `data` decoded so consumers' matchers can see inside it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from harness.contracts.messages import MessageProducer, MessageRequest, ProducedMessage
from sample_services.orders import events

# A fixed id keeps the produced message reproducible; the consumer matches it as a uuid.
EVENT_ID = "3f2c1a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f"


@dataclass(frozen=True)
class _Order:
    """What `events.OrderLike` needs, read from orders' `GET /orders/{id}`."""

    id: str
    account_id: str
    items: Sequence[Mapping[str, Any]]
    amount_cents: int


def _order(request: MessageRequest) -> _Order:
    order_id = request.param("order_id")
    if request.provider_url is None or not isinstance(order_id, str):
        raise LookupError(f"{request.description!r} needs a running orders and an order_id")
    with httpx.Client(base_url=request.provider_url, timeout=5.0, trust_env=False) as client:
        response = client.get(f"/orders/{order_id}")
    response.raise_for_status()
    body = response.json()
    return _Order(body["order_id"], body["account_id"], body["items"], body["amount_cents"])


def _message(event: events.Event) -> ProducedMessage:
    fields: dict[str, Any] = dict(event.stream_fields())
    fields["data"] = json.loads(fields["data"])
    return ProducedMessage(body=fields, metadata={"stream": events.STREAM, "type": event.type})


def _producer(build: Callable[..., events.Event]) -> MessageProducer:
    def produce(request: MessageRequest) -> ProducedMessage:
        return _message(build(_order(request), event_id=EVENT_ID))

    return produce


ORDERS: dict[str, MessageProducer] = {
    "an OrderConfirmed event": _producer(events.order_confirmed),
    "an OrderCancelled event": _producer(events.order_cancelled),
}
