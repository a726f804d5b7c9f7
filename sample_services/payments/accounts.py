"""Accounts: balances, and the credits that put money into them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sample_services.common.db import Database, retry_on_conflict
from sample_services.common.problems import ProblemError
from sample_services.payments.models import Account
from sample_services.payments.schemas import AccountOut


def view(account: Account) -> AccountOut:
    return AccountOut(
        account_id=account.account_id,
        balance_cents=account.balance_cents,
        credited_cents=account.credited_cents,
    )


def get_account(db: Database, account_id: str) -> AccountOut:
    with db.session() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise ProblemError(404, "not_found", f"no account {account_id!r}")
        return view(account)


def set_balance(db: Database, account_id: str, balance_cents: int) -> AccountOut:
    """Create the account or set its balance; the difference is booked as credited (negative
    for a debit), so balance + captured - refunded == credited keeps holding."""

    def work(session: Session) -> AccountOut:
        account = session.get(Account, account_id, with_for_update=True)
        if account is None:
            account = Account(account_id=account_id, balance_cents=0, credited_cents=0)
            session.add(account)
        account.credited_cents += balance_cents - account.balance_cents
        account.balance_cents = balance_cents
        session.flush()
        return view(account)

    return retry_on_conflict(db, work)
