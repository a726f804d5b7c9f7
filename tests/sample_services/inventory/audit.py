"""The inventory invariants, checked against the database itself."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from sample_services.common.db import Database
from sample_services.inventory.models import Stock, StockMovement


def assert_conserved(app: FastAPI) -> None:
    """Every row balanced and never negative, and the ledger sums to every row."""
    db: Database = app.state.db
    with db.session() as session:
        rows = {row.sku: row for row in session.scalars(select(Stock))}
        ledger = {
            sku: (available, reserved, sold, received)
            for sku, available, reserved, sold, received in session.execute(
                select(
                    StockMovement.sku,
                    func.sum(StockMovement.delta_available),
                    func.sum(StockMovement.delta_reserved),
                    func.sum(StockMovement.delta_sold),
                    func.sum(StockMovement.delta_received),
                ).group_by(StockMovement.sku)
            )
        }
    for sku, row in rows.items():
        assert row.available >= 0, sku
        assert row.reserved >= 0, sku
        assert row.sold >= 0, sku
        assert row.available + row.reserved + row.sold == row.received, sku
        booked = ledger.get(sku, (0, 0, 0, 0))
        assert booked == (row.available, row.reserved, row.sold, row.received), sku
    assert set(ledger) <= set(rows)


def movement_count(app: FastAPI) -> int:
    db: Database = app.state.db
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(StockMovement)) or 0
