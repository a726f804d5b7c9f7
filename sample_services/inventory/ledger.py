"""Stock levels and the ledger: every change to a stock row is booked as a movement."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sample_services.common.db import Database, retry_on_conflict
from sample_services.common.problems import ProblemError
from sample_services.inventory.models import Stock, StockMovement
from sample_services.inventory.schemas import StockOut


def book(
    session: Session,
    row: Stock,
    *,
    reason: str,
    order_id: str | None = None,
    available: int = 0,
    reserved: int = 0,
    sold: int = 0,
    received: int = 0,
) -> None:
    """Apply one change to a (locked) stock row and append it to the ledger."""
    row.available += available
    row.reserved += reserved
    row.sold += sold
    row.received += received
    session.add(
        StockMovement(
            sku=row.sku,
            delta_available=available,
            delta_reserved=reserved,
            delta_sold=sold,
            delta_received=received,
            reason=reason,
            order_id=order_id,
        )
    )


def lock_rows(session: Session, skus: Iterable[str]) -> dict[str, Stock]:
    """Lock the rows in sku order, so two multi-sku transactions never wait on each other
    in a cycle. SQLite ignores FOR UPDATE: BEGIN IMMEDIATE already serialises its writers."""
    wanted = sorted(set(skus))
    rows = session.scalars(
        select(Stock).where(Stock.sku.in_(wanted)).order_by(Stock.sku).with_for_update()
    ).all()
    return {row.sku: row for row in rows}


def view(row: Stock) -> StockOut:
    return StockOut(
        sku=row.sku,
        available=row.available,
        reserved=row.reserved,
        sold=row.sold,
        received=row.received,
    )


def get_stock(db: Database, sku: str) -> StockOut:
    with db.session() as session:
        row = session.get(Stock, sku)
        if row is None:
            raise ProblemError(404, "not_found", f"no stock for sku {sku!r}")
        return view(row)


def set_available(db: Database, sku: str, available: int) -> StockOut:
    """Create the sku or set its unreserved quantity; the difference is received (or written
    off), so reserved and sold units are never touched and the sum stays balanced."""

    def work(session: Session) -> StockOut:
        row = session.get(Stock, sku, with_for_update=True)
        if row is None:
            row = Stock(sku=sku, available=0, reserved=0, sold=0, received=0)
            session.add(row)
        delta = available - row.available
        if delta:
            reason = "restock" if delta > 0 else "write_off"
            book(session, row, reason=reason, available=delta, received=delta)
        session.flush()
        return view(row)

    return retry_on_conflict(db, work)
