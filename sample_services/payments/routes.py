"""The payments HTTP API (see sample_services/README.md, "Public HTTP API")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from sample_services.common import problems
from sample_services.common.db import Database
from sample_services.common.idempotency import IdempotencyStore, key_parameter, required_key
from sample_services.common.links import link
from sample_services.payments import accounts, charges
from sample_services.payments.models import IdempotencyRecord
from sample_services.payments.schemas import (
    ID_PATTERN,
    AccountOut,
    BalanceRequest,
    PaymentOut,
    PaymentRequest,
)

IDEMPOTENCY_KEY_PARAMETER = key_parameter(
    "The same key and body replay the first response; one charge per key"
)

IdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)]

# Where an answer leads (OpenAPI links; Schemathesis' stateful phase follows them).
GET_ACCOUNT = link(
    "GET", "/accounts/{account_id}", "The account's balance", account_id="account_id"
)
GET_PAYMENT = link("GET", "/payments/{payment_id}", "The payment", payment_id="payment_id")
REFUND_PAYMENT = link(
    "POST", "/payments/{payment_id}/refund", "Refund the payment", payment_id="payment_id"
)
ORDER_PAYMENTS = link("GET", "/payments", "Every payment of the order", order_id="order_id")


def build_router(db: Database) -> APIRouter:
    router = APIRouter(tags=["payments"])
    store = IdempotencyStore(db, IdempotencyRecord)

    @router.get(
        "/accounts/{account_id}",
        response_model=AccountOut,
        summary="An account's balance and total credits",
        responses=problems.responses(404, 422, 503),
    )
    def get_account(account_id: IdPath) -> AccountOut:
        return accounts.get_account(db, account_id)

    @router.put(
        "/accounts/{account_id}",
        response_model=AccountOut,
        summary="Create an account or set its balance (the difference is credited)",
        responses={
            200: {"links": {"GetAccount": GET_ACCOUNT}},
            **problems.responses(400, 422, 503),
        },
    )
    def put_account(account_id: IdPath, body: BalanceRequest) -> AccountOut:
        return accounts.set_balance(db, account_id, body.balance_cents)

    @router.post(
        "/payments",
        response_model=PaymentOut,
        status_code=201,
        summary="Capture a payment, once per Idempotency-Key",
        responses={
            201: {
                "links": {
                    "GetPayment": GET_PAYMENT,
                    "RefundPayment": REFUND_PAYMENT,
                    "ListOrderPayments": ORDER_PAYMENTS,
                }
            },
            **problems.responses(400, 402, 404, 409, 422, 503),
        },
        # Read by hand, not as a FastAPI parameter, so that a missing key is the documented
        # 400 rather than a 422, while the OpenAPI still says the header is required.
        openapi_extra={"parameters": [IDEMPOTENCY_KEY_PARAMETER]},
    )
    def create_payment(body: PaymentRequest, request: Request) -> JSONResponse:
        key = required_key(request, "POST /payments")
        outcome = charges.charge(store, key, body)
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
        return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)

    @router.get(
        "/payments",
        response_model=list[PaymentOut],
        summary="An order's payments (how a saga learns the outcome of an unanswered charge)",
        responses=problems.responses(422, 503),
    )
    def list_payments(
        order_id: Annotated[str, Query(min_length=1, max_length=128, pattern=ID_PATTERN)],
    ) -> list[PaymentOut]:
        return charges.payments_of_order(db, order_id)

    @router.get(
        "/payments/{payment_id}",
        response_model=PaymentOut,
        summary="A payment",
        responses=problems.responses(404, 422, 503),
    )
    def get_payment(payment_id: IdPath) -> PaymentOut:
        return charges.get_payment(db, payment_id)

    @router.post(
        "/payments/{payment_id}/refund",
        response_model=PaymentOut,
        summary="Refund a payment (idempotent: the amount is credited back once)",
        responses={
            200: {"links": {"GetPayment": GET_PAYMENT, "GetAccount": GET_ACCOUNT}},
            **problems.responses(404, 422, 503),
        },
    )
    def refund_payment(payment_id: IdPath) -> PaymentOut:
        return charges.refund(db, payment_id)

    return router
