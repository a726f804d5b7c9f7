"""Orders' events, applied exactly once: the inbox row and the effect commit together.

Shipping reads the event contract on its own (it does not import orders): fields
`event_id`, `type`, `data` where data is `{order_id, account_id, items, amount_cents,
occurred_at}` as JSON text (or, from a message-pact test, already an object).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sample_services.common.db import Database
from sample_services.shipping.models import InboxEntry, Shipment, ShipmentStatus

ORDER_CONFIRMED: Final = "OrderConfirmed"
ORDER_CANCELLED: Final = "OrderCancelled"
_MAX_ID = 128


class MalformedEvent(ValueError):
    """Not an event we can read; retrying cannot help, so it is acknowledged and counted."""


@dataclass(frozen=True)
class OrderEvent:
    event_id: str
    type: str
    order_id: str
    data: dict[str, Any]


class Receipt(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"


def _identifier(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_ID:
        raise MalformedEvent(f"{name} must be a non-empty string of at most {_MAX_ID} chars")
    return value


def parse_event(fields: Mapping[str, Any]) -> OrderEvent:
    raw = fields.get("data")
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise MalformedEvent(f"data is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise MalformedEvent("data must be a JSON object")
    return OrderEvent(
        event_id=_identifier(fields.get("event_id"), "event_id"),
        type=_identifier(fields.get("type"), "type"),
        order_id=_identifier(raw.get("order_id"), "data.order_id"),
        data=raw,
    )


def receive(db: Database, event: OrderEvent) -> Receipt:
    """Apply the event unless its event_id is in the inbox already."""
    for _ in range(3):
        try:
            with db.session() as session:
                if session.get(InboxEntry, event.event_id) is not None:
                    return Receipt.DUPLICATE
                session.add(
                    InboxEntry(event_id=event.event_id, type=event.type, order_id=event.order_id)
                )
                # A concurrent twin (same event, or another event for the same order)
                # surfaces here as an IntegrityError; the next round sees its result.
                session.flush()
                _apply(session, event)
                session.flush()
                return Receipt.APPLIED
        except IntegrityError:
            continue
    raise RuntimeError(f"event {event.event_id} kept conflicting with concurrent writers")


def _apply(session: Session, event: OrderEvent) -> None:
    shipment = session.get(Shipment, event.order_id, with_for_update=True)
    if event.type == ORDER_CONFIRMED:
        # An existing CANCELLED record means the cancellation overtook the confirmation
        # (two consumers, or a redelivery): the order stays cancelled.
        if shipment is None:
            session.add(_shipment(event.order_id, ShipmentStatus.CREATED))
    elif event.type == ORDER_CANCELLED:
        if shipment is None:
            session.add(_shipment(event.order_id, ShipmentStatus.CANCELLED))
        else:
            shipment.status = ShipmentStatus.CANCELLED.value
    # Other types are recorded in the inbox and otherwise ignored: producers may add
    # events without breaking this consumer.


def _shipment(order_id: str, status: ShipmentStatus) -> Shipment:
    return Shipment(order_id=order_id, shipment_id=str(uuid.uuid4()), status=status.value)
