"""Inventory tables: stock levels, reservations and the append-only ledger of stock movements."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ReservationStatus(StrEnum):
    HELD = "HELD"
    COMMITTED = "COMMITTED"
    RELEASED = "RELEASED"


class Stock(Base):
    """One row per sku. The constraints make the database refuse an oversell outright."""

    __tablename__ = "stock"
    __table_args__ = (
        CheckConstraint("available >= 0", name="stock_available_not_negative"),
        CheckConstraint("reserved >= 0", name="stock_reserved_not_negative"),
        CheckConstraint("sold >= 0", name="stock_sold_not_negative"),
        CheckConstraint("available + reserved + sold = received", name="stock_conserved"),
    )

    sku: Mapped[str] = mapped_column(String(100), primary_key=True)
    available: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    sold: Mapped[int] = mapped_column(BigInteger, default=0)
    received: Mapped[int] = mapped_column(BigInteger, default=0)


class Reservation(Base):
    """An order's hold on stock. A RELEASED row with no items is a tombstone."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint(
            "status IN ('HELD', 'COMMITTED', 'RELEASED')", name="reservation_status_known"
        ),
    )

    order_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    # The lines as the first request sent them: a replay answers with exactly these.
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Hash of the lines summed per sku; None for a tombstone, which no request matches.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, onupdate=_now
    )


class StockMovement(Base):
    """Append-only: summing a sku's deltas gives its stock row, which makes drift auditable."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    sku: Mapped[str] = mapped_column(String(100), index=True)
    delta_available: Mapped[int] = mapped_column(BigInteger, default=0)
    delta_reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    delta_sold: Mapped[int] = mapped_column(BigInteger, default=0)
    delta_received: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
