"""Provider states for contract verification (mounted only with ENABLE_TEST_HOOKS=1).

Each state name is a template; its values come in `params`, e.g.
`{"state": "shipment for order {order_id} is CREATED", "params": {"order_id": "O-1"}}`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete

from sample_services.common.db import Database
from sample_services.common.problems import ProblemError
from sample_services.common.provider_params import identifier
from sample_services.shipping.models import Shipment, ShipmentStatus
from sample_services.shipping.routes import ID_PATTERN

StateHandler = Callable[[dict[str, Any]], None]


def _order_id(params: dict[str, Any]) -> str:
    return identifier(params, "order_id", pattern=ID_PATTERN, max_length=128)


def _forget(db: Database, order_id: str) -> None:
    with db.session() as session:
        session.execute(delete(Shipment).where(Shipment.order_id == order_id))


def _put(db: Database, params: dict[str, Any], status: ShipmentStatus) -> None:
    order_id = _order_id(params)
    shipment_id = params.get("shipment_id", str(uuid.uuid4()))
    if not isinstance(shipment_id, str) or not 0 < len(shipment_id) <= 36:
        raise ProblemError(400, "bad_state_params", "param 'shipment_id' must be a short string")
    _forget(db, order_id)
    with db.session() as session:
        session.add(Shipment(order_id=order_id, shipment_id=shipment_id, status=status.value))


def states(db: Database) -> dict[str, StateHandler]:
    return {
        "shipment for order {order_id} is CREATED": lambda p: _put(db, p, ShipmentStatus.CREATED),
        "shipment for order {order_id} is CANCELLED": lambda p: _put(
            db, p, ShipmentStatus.CANCELLED
        ),
        "no shipment for order {order_id}": lambda p: _forget(db, _order_id(p)),
    }
