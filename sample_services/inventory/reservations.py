"""Reservations: all-or-nothing holds on stock, idempotent per order id.

Transitions: (none) -> HELD -> COMMITTED; HELD or COMMITTED -> RELEASED; (none) -> RELEASED
(a tombstone, so a reservation that arrives after its order was compensated is refused).
Every transition locks the reservation row first and then the stock rows in sku order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from sample_services.common.db import Database, retry_on_conflict
from sample_services.common.idempotency import fingerprint
from sample_services.common.problems import ProblemError
from sample_services.inventory.ledger import book, lock_rows
from sample_services.inventory.models import Reservation, ReservationStatus, Stock
from sample_services.inventory.schemas import ReservationLine, ReservationLineOut, ReservationOut


def _totals(lines: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Quantity per sku: two lines for one sku hold their sum."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line["sku"]] = totals.get(line["sku"], 0) + int(line["quantity"])
    return dict(sorted(totals.items()))


def view(reservation: Reservation) -> ReservationOut:
    return ReservationOut(
        order_id=reservation.order_id,
        status=ReservationStatus(reservation.status),
        items=[ReservationLineOut(**line) for line in reservation.items],
    )


def _released(order_id: str) -> ProblemError:
    return ProblemError(
        409, "reservation_released", f"the reservation for order {order_id!r} was released"
    )


def _locked_stock(session: Session, totals: Mapping[str, int]) -> dict[str, Stock]:
    rows = lock_rows(session, totals)
    missing = [sku for sku in totals if sku not in rows]
    if missing:
        # Only reachable if a test hook removed a sku that a reservation still holds.
        raise RuntimeError(f"stock rows vanished under a reservation: {missing}")
    return rows


def reserve(
    db: Database, order_id: str, lines: list[ReservationLine]
) -> tuple[bool, ReservationOut]:
    """Hold every line or none. Returns (created, reservation)."""
    items = [line.model_dump() for line in lines]
    totals = _totals(items)
    items_print = fingerprint(sorted(totals.items()))

    def work(session: Session) -> tuple[bool, ReservationOut]:
        existing = session.get(Reservation, order_id)
        if existing is not None:
            if existing.status == ReservationStatus.RELEASED:
                raise _released(order_id)
            if existing.fingerprint != items_print:
                raise ProblemError(
                    409,
                    "idempotency_conflict",
                    f"order {order_id!r} already holds a reservation for other items",
                )
            return False, view(existing)
        rows = lock_rows(session, totals)
        missing = [sku for sku in totals if sku not in rows]
        if missing:
            raise ProblemError(404, "not_found", f"unknown sku: {', '.join(missing)}")
        short = [sku for sku, qty in totals.items() if rows[sku].available < qty]
        if short:
            raise ProblemError(
                409, "insufficient_stock", f"not enough stock for: {', '.join(short)}"
            )
        for sku, qty in totals.items():
            book(
                session,
                rows[sku],
                reason="reserve",
                order_id=order_id,
                available=-qty,
                reserved=qty,
            )
        reservation = Reservation(
            order_id=order_id,
            status=ReservationStatus.HELD.value,
            items=items,
            fingerprint=items_print,
        )
        session.add(reservation)
        # Flush inside the retry: a twin that inserted first makes this attempt roll back.
        session.flush()
        return True, view(reservation)

    return retry_on_conflict(db, work)


def get_reservation(db: Database, order_id: str) -> ReservationOut:
    with db.session() as session:
        reservation = session.get(Reservation, order_id)
        if reservation is None:
            raise ProblemError(404, "not_found", f"no reservation for order {order_id!r}")
        return view(reservation)


def commit(db: Database, order_id: str) -> ReservationOut:
    """HELD -> COMMITTED: the held units are sold. Idempotent."""
    with db.session() as session:
        reservation = session.get(Reservation, order_id, with_for_update=True)
        if reservation is None:
            raise ProblemError(404, "not_found", f"no reservation for order {order_id!r}")
        if reservation.status == ReservationStatus.RELEASED:
            raise _released(order_id)
        if reservation.status == ReservationStatus.HELD:
            totals = _totals(reservation.items)
            rows = _locked_stock(session, totals)
            for sku, qty in totals.items():
                book(
                    session, rows[sku], reason="commit", order_id=order_id, reserved=-qty, sold=qty
                )
            reservation.status = ReservationStatus.COMMITTED.value
        return view(reservation)


def release(db: Database, order_id: str) -> ReservationOut:
    """Give the units back (held ones, or sold ones when an order is cancelled). Idempotent;
    an unknown order gets a RELEASED tombstone so a late reservation for it is refused."""

    def work(session: Session) -> ReservationOut:
        reservation = session.get(Reservation, order_id, with_for_update=True)
        if reservation is None:
            reservation = Reservation(
                order_id=order_id,
                status=ReservationStatus.RELEASED.value,
                items=[],
                fingerprint=None,
            )
            session.add(reservation)
            session.flush()
            return view(reservation)
        if reservation.status == ReservationStatus.RELEASED:
            return view(reservation)
        totals = _totals(reservation.items)
        rows = _locked_stock(session, totals)
        for sku, qty in totals.items():
            if reservation.status == ReservationStatus.HELD:
                book(
                    session,
                    rows[sku],
                    reason="release",
                    order_id=order_id,
                    available=qty,
                    reserved=-qty,
                )
            else:
                book(
                    session, rows[sku], reason="return", order_id=order_id, available=qty, sold=-qty
                )
        reservation.status = ReservationStatus.RELEASED.value
        return view(reservation)

    return retry_on_conflict(db, work)
