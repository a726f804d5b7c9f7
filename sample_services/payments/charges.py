"""Captures and refunds. A capture runs inside IdempotencyStore.execute: the debit, the
payment row and the stored response commit together, so a replayed key never charges twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sample_services.common.db import Database
from sample_services.common.idempotency import IdempotencyStore, Outcome
from sample_services.common.problems import ProblemError
from sample_services.payments.models import Account, Payment, PaymentStatus
from sample_services.payments.schemas import PaymentOut, PaymentRequest


def view(payment: Payment) -> PaymentOut:
    return PaymentOut(
        payment_id=payment.payment_id,
        order_id=payment.order_id,
        account_id=payment.account_id,
        amount_cents=payment.amount_cents,
        status=PaymentStatus(payment.status),
    )


def _problem(code: str, detail: str) -> dict[str, Any]:
    return {"detail": detail, "code": code}


def capture(
    session: Session, request: PaymentRequest, payment_id: str | None = None
) -> tuple[int, dict[str, Any]]:
    """Debit the account and record the payment. Refusals are returned, not raised, so the
    idempotency store keeps them: a replayed key answers the same 402 or 404 and never
    turns into a charge later (e.g. after the account was topped up)."""
    # The row lock serialises concurrent captures on PostgreSQL; SQLite's BEGIN IMMEDIATE
    # already has. Either way the balance is checked by the writer that will change it.
    account = session.get(Account, request.account_id, with_for_update=True)
    if account is None:
        return 404, _problem("not_found", f"no account {request.account_id!r}")
    if account.balance_cents < request.amount_cents:
        return 402, _problem(
            "insufficient_funds",
            f"account {request.account_id!r} cannot pay {request.amount_cents} cents",
        )
    account.balance_cents -= request.amount_cents
    payment = Payment(
        payment_id=payment_id or str(uuid.uuid4()),
        order_id=request.order_id,
        account_id=request.account_id,
        amount_cents=request.amount_cents,
        status=PaymentStatus.CAPTURED.value,
    )
    session.add(payment)
    session.flush()
    return 201, view(payment).model_dump(mode="json")


def charge(store: IdempotencyStore, key: str, request: PaymentRequest) -> Outcome:
    return store.execute(key, request.model_dump(mode="json"), lambda s: capture(s, request))


def refund(db: Database, payment_id: str) -> PaymentOut:
    """CAPTURED -> REFUNDED, crediting the amount back once. Idempotent."""
    with db.session() as session:
        payment = session.get(Payment, payment_id, with_for_update=True)
        if payment is None:
            raise ProblemError(404, "not_found", f"no payment {payment_id!r}")
        if payment.status == PaymentStatus.CAPTURED:
            account = session.get(Account, payment.account_id, with_for_update=True)
            if account is None:  # the foreign key makes this a corrupted database
                raise RuntimeError(f"payment {payment_id!r} has no account")
            account.balance_cents += payment.amount_cents
            payment.status = PaymentStatus.REFUNDED.value
            payment.refunded_at = datetime.now(UTC)
        return view(payment)


def get_payment(db: Database, payment_id: str) -> PaymentOut:
    with db.session() as session:
        payment = session.get(Payment, payment_id)
        if payment is None:
            raise ProblemError(404, "not_found", f"no payment {payment_id!r}")
        return view(payment)


def payments_of_order(db: Database, order_id: str) -> list[PaymentOut]:
    with db.session() as session:
        rows = session.scalars(
            select(Payment)
            .where(Payment.order_id == order_id)
            .order_by(Payment.created_at, Payment.payment_id)
        )
        return [view(p) for p in rows]
