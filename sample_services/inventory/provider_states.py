"""Provider states for contract verification (mounted only with ENABLE_TEST_HOOKS=1).

Each state name is a template; its values come in `params`, e.g.
`{"state": "sku {sku} has {available} available", "params": {"sku": "S-1", "available": 5}}`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import delete, select

from sample_services.common.db import Database
from sample_services.common.provider_params import identifier, integer
from sample_services.inventory import ledger, reservations
from sample_services.inventory.models import Reservation, Stock, StockMovement
from sample_services.inventory.schemas import ID_PATTERN, ReservationLine

StateHandler = Callable[[dict[str, Any]], None]

DEFAULT_SKU = "SKU-1"


_text = partial(identifier, pattern=ID_PATTERN, max_length=100)


def _forget_reservation(db: Database, order_id: str) -> None:
    """Undo a reservation's effects on stock, then remove it, so a state starts clean."""
    reservations.release(db, order_id)
    with db.session() as session:
        session.execute(delete(Reservation).where(Reservation.order_id == order_id))


def _hold(db: Database, params: dict[str, Any]) -> str:
    order_id = _text(params, "order_id")
    sku = _text(params, "sku", DEFAULT_SKU)
    quantity = integer(params, "quantity", 1, minimum=1)
    _forget_reservation(db, order_id)
    current = ledger.get_stock(db, sku).available if _has_stock(db, sku) else 0
    if current < quantity:
        ledger.set_available(db, sku, quantity)
    reservations.reserve(db, order_id, [ReservationLine(sku=sku, quantity=quantity)])
    return order_id


def _has_stock(db: Database, sku: str) -> bool:
    with db.session() as session:
        return session.get(Stock, sku) is not None


def states(db: Database) -> dict[str, StateHandler]:
    def sku_has(params: dict[str, Any]) -> None:
        ledger.set_available(db, _text(params, "sku"), integer(params, "available"))

    def no_stock(params: dict[str, Any]) -> None:
        sku = _text(params, "sku")
        with db.session() as session:
            holding = [
                r.order_id
                for r in session.scalars(select(Reservation))
                if any(line["sku"] == sku for line in r.items)
            ]
        for order_id in holding:
            _forget_reservation(db, order_id)
        with db.session() as session:
            session.execute(delete(StockMovement).where(StockMovement.sku == sku))
            session.execute(delete(Stock).where(Stock.sku == sku))

    def held(params: dict[str, Any]) -> None:
        _hold(db, params)

    def committed(params: dict[str, Any]) -> None:
        reservations.commit(db, _hold(db, params))

    def released(params: dict[str, Any]) -> None:
        order_id = _text(params, "order_id")
        _forget_reservation(db, order_id)
        reservations.release(db, order_id)

    return {
        "sku {sku} has {available} available": sku_has,
        "no stock for {sku}": no_stock,
        "reservation {order_id} is HELD": held,
        "reservation {order_id} is COMMITTED": committed,
        "reservation {order_id} is RELEASED": released,
    }
