"""The events orders publishes on `orders.events`, built in one place.

Message contract tests call these builders, so what they return is exactly what the outbox
stores and the relay sends: stream fields `event_id`, `type` and `data` (JSON text of
`{order_id, account_id, items, amount_cents, occurred_at}`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

STREAM: Final = "orders.events"
ORDER_CONFIRMED: Final = "OrderConfirmed"
ORDER_CANCELLED: Final = "OrderCancelled"


class OrderLike(Protocol):
    """What an event needs from an order; the `Order` model satisfies it."""

    @property
    def id(self) -> str: ...

    @property
    def account_id(self) -> str: ...

    @property
    def items(self) -> Sequence[Mapping[str, Any]]: ...

    @property
    def amount_cents(self) -> int: ...


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def stream_fields(self) -> dict[str, str]:
        """The entry as XADD sends it (every field a string)."""
        return {
            "event_id": self.event_id,
            "type": self.type,
            "data": json.dumps(self.data, separators=(",", ":"), sort_keys=True),
        }


def _data(order: OrderLike, occurred_at: datetime | None) -> dict[str, Any]:
    when = occurred_at or datetime.now(UTC)
    return {
        "order_id": order.id,
        "account_id": order.account_id,
        "items": [
            {
                "sku": str(item["sku"]),
                "quantity": int(item["quantity"]),
                "unit_price_cents": int(item["unit_price_cents"]),
            }
            for item in order.items
        ],
        "amount_cents": order.amount_cents,
        "occurred_at": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def order_confirmed(
    order: OrderLike, *, event_id: str | None = None, occurred_at: datetime | None = None
) -> Event:
    """Stock committed and payment captured: shipping may ship."""
    data = _data(order, occurred_at)
    if event_id is None:
        return Event(ORDER_CONFIRMED, data)
    return Event(ORDER_CONFIRMED, data, event_id)


def order_cancelled(
    order: OrderLike, *, event_id: str | None = None, occurred_at: datetime | None = None
) -> Event:
    """A confirmed order was cancelled (refunded, stock returned): shipping must not ship."""
    data = _data(order, occurred_at)
    if event_id is None:
        return Event(ORDER_CANCELLED, data)
    return Event(ORDER_CANCELLED, data, event_id)
