"""Payments tables: accounts, payments and the idempotency keys of POST /payments."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sample_services.common.idempotency import IdempotencyRecordMixin


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class PaymentStatus(StrEnum):
    CAPTURED = "CAPTURED"
    REFUNDED = "REFUNDED"


class Account(Base):
    """`credited_cents` counts all money ever put in, so balances can be audited against it."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("balance_cents >= 0", name="account_balance_not_negative"),)

    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    credited_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="payment_amount_positive"),
        CheckConstraint("status IN ('CAPTURED', 'REFUNDED')", name="payment_status_known"),
    )

    payment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), index=True)
    account_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("accounts.account_id"), index=True
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyRecord(IdempotencyRecordMixin, Base):
    pass
