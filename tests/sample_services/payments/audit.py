"""The money invariant, checked against the database itself."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from sample_services.common.db import Database
from sample_services.payments.models import Account, Payment, PaymentStatus


def assert_money_conserved(app: FastAPI) -> None:
    """sum(balance) + sum(captured) - sum(refunded) == sum(credited), per account and in all."""
    db: Database = app.state.db
    with db.session() as session:
        accounts = list(session.scalars(select(Account)))
        moved = {
            (account_id, status): total
            for account_id, status, total in session.execute(
                select(Payment.account_id, Payment.status, func.sum(Payment.amount_cents)).group_by(
                    Payment.account_id, Payment.status
                )
            )
        }
    for account in accounts:
        assert account.balance_cents >= 0, account.account_id
        captured = moved.get((account.account_id, PaymentStatus.CAPTURED), 0) + moved.get(
            (account.account_id, PaymentStatus.REFUNDED), 0
        )
        refunded = moved.get((account.account_id, PaymentStatus.REFUNDED), 0)
        assert account.balance_cents + captured - refunded == account.credited_cents, (
            account.account_id
        )
