"""Provider states for contract verification (mounted only with ENABLE_TEST_HOOKS=1).

Each state name is a template; its values come in `params`, e.g.
`{"state": "account {account_id} has balance {balance_cents}",
  "params": {"account_id": "A-1", "balance_cents": 5000}}`.

Every state first forgets all idempotency keys: interactions in a pact are independent, and
a key an earlier interaction used must not replay its response into a later one. Payments
are refunded before they are removed, so money stays conserved across states.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import delete, select

from sample_services.common.db import Database
from sample_services.common.idempotency import fingerprint
from sample_services.common.problems import ProblemError
from sample_services.common.provider_params import identifier, integer
from sample_services.payments import accounts, charges
from sample_services.payments.models import Account, IdempotencyRecord, Payment
from sample_services.payments.schemas import ID_PATTERN, PaymentRequest

StateHandler = Callable[[dict[str, Any]], None]

DEFAULT_ACCOUNT = "acct-1"
DEFAULT_AMOUNT_CENTS = 1000


_text = partial(identifier, pattern=ID_PATTERN, max_length=100)


def _forget_keys(db: Database) -> None:
    with db.session() as session:
        session.execute(delete(IdempotencyRecord))


def _remove_payments(db: Database, *where: Any) -> None:
    with db.session() as session:
        ids = list(session.scalars(select(Payment.payment_id).where(*where)))
    for payment_id in ids:
        charges.refund(db, payment_id)
    with db.session() as session:
        session.execute(delete(Payment).where(Payment.payment_id.in_(ids)))


def _captured(db: Database, params: dict[str, Any]) -> str:
    payment_id = _text(params, "payment_id")
    request = PaymentRequest(
        order_id=_text(params, "order_id"),
        account_id=_text(params, "account_id", DEFAULT_ACCOUNT),
        amount_cents=integer(params, "amount_cents", DEFAULT_AMOUNT_CENTS, minimum=1),
    )
    _forget_keys(db)
    _remove_payments(db, Payment.payment_id == payment_id)
    # Credit what the payment takes, so the account keeps whatever balance it had.
    with db.session() as session:
        account = session.get(Account, request.account_id)
        balance = account.balance_cents if account is not None else 0
    accounts.set_balance(db, request.account_id, balance + request.amount_cents)
    with db.session() as session:
        status, body = charges.capture(session, request, payment_id)
        if status != 201:
            raise ProblemError(400, "bad_state_params", f"could not capture: {body}")
        key = params.get("idempotency_key")
        if isinstance(key, str) and key:
            # Lets a consumer pact a replay: this key already produced this payment.
            session.add(
                IdempotencyRecord(
                    key=key,
                    fingerprint=fingerprint(request.model_dump(mode="json")),
                    status_code=status,
                    body=json.dumps(body),
                )
            )
    return payment_id


def states(db: Database) -> dict[str, StateHandler]:
    def account_has(params: dict[str, Any]) -> None:
        _forget_keys(db)
        accounts.set_balance(db, _text(params, "account_id"), integer(params, "balance_cents"))

    def no_account(params: dict[str, Any]) -> None:
        account_id = _text(params, "account_id")
        _forget_keys(db)
        _remove_payments(db, Payment.account_id == account_id)
        with db.session() as session:
            session.execute(delete(Account).where(Account.account_id == account_id))

    def captured(params: dict[str, Any]) -> None:
        _captured(db, params)

    def refunded(params: dict[str, Any]) -> None:
        charges.refund(db, _captured(db, params))

    def no_payments(params: dict[str, Any]) -> None:
        _forget_keys(db)
        _remove_payments(db, Payment.order_id == _text(params, "order_id"))

    return {
        "account {account_id} has balance {balance_cents}": account_has,
        "account {account_id} does not exist": no_account,
        "payment {payment_id} for order {order_id} is CAPTURED": captured,
        "payment {payment_id} for order {order_id} is REFUNDED": refunded,
        "order {order_id} has no payments": no_payments,
    }
