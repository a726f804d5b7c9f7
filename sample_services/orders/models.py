"""Orders tables: orders, their saga steps, the transactional outbox and idempotency keys.

The outbox lives here because the relay is part of the orders bounded context: it reads
and marks these rows in the orders database and shares these models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sample_services.common.idempotency import IdempotencyRecordMixin
from sample_services.orders.events import Event


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    COMPENSATING = "COMPENSATING"
    COMPENSATED = "COMPENSATED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({OrderStatus.CONFIRMED, OrderStatus.COMPENSATED, OrderStatus.CANCELLED})


class StepName(StrEnum):
    RESERVE = "reserve"
    CHARGE = "charge"
    COMMIT = "commit"
    REFUND = "refund"
    RELEASE = "release"


FORWARD_STEPS = (StepName.RESERVE, StepName.CHARGE, StepName.COMMIT)
# Undo in reverse order of doing: money first, then stock.
COMPENSATION_STEPS = (StepName.REFUND, StepName.RELEASE)
STEP_POSITION = {name: i for i, name in enumerate(FORWARD_STEPS + COMPENSATION_STEPS)}


class StepStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(128))
    # [{sku, quantity, unit_price_cents}] exactly as accepted.
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # The captured payment, known once the charge step succeeded: what a refund targets.
    payment_id: Mapped[str | None] = mapped_column(String(128), default=None)
    # A CONFIRMED order whose cancellation (refund, release) is under way; survives a crash
    # so the worker finishes what the request started.
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # The accepting request's ids: the saga's downstream calls continue its trace and logs.
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    traceparent: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)


class SagaStep(Base):
    __tablename__ = "saga_steps"

    order_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=StepStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # True once any attempt may have reached the callee without us learning the outcome:
    # compensation must then look (refund by order) or act blindly (release), not skip.
    maybe_applied: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    # The step's deadline runs from here, across restarts.
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)


class OutboxMessage(Base):
    """An event committed with the state change it announces; the relay publishes it."""

    __tablename__ = "outbox"

    # Publication order is id order; an integer key that autoincrements on both dialects.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(128), index=True)
    # The event's data as published: JSON text, serialised once, here.
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    published_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None, index=True
    )

    @classmethod
    def of(cls, event: Event, order_id: str) -> OutboxMessage:
        return cls(
            event_id=event.event_id,
            type=event.type,
            order_id=order_id,
            data=event.stream_fields()["data"],
        )

    def stream_fields(self) -> dict[str, str]:
        return {"event_id": self.event_id, "type": self.type, "data": self.data}


class IdempotencyRecord(IdempotencyRecordMixin, Base):
    pass
