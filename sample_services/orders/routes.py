"""The orders HTTP API (see sample_services/README.md, "Public HTTP API")."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from sample_services.common import context, problems, tracing
from sample_services.common.db import Database
from sample_services.common.idempotency import IdempotencyStore, key_parameter, required_key
from sample_services.common.links import link
from sample_services.common.problems import ProblemError
from sample_services.orders.models import (
    FORWARD_STEPS,
    IdempotencyRecord,
    Order,
    OrderStatus,
    SagaStep,
)
from sample_services.orders.saga import CompensationRefused, Saga, add_steps
from sample_services.orders.schemas import (
    ID_PATTERN,
    OrderLineOut,
    OrderOut,
    OrderRequest,
    SagaOut,
    SagaStepOut,
)
from sample_services.orders.worker import SagaWorker

OrderIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)]
IDEMPOTENCY_KEY_PARAMETER = key_parameter(
    "The same key and body replay the first response; one order per key"
)

# Where an order's answer leads (OpenAPI links; Schemathesis' stateful phase follows them).
GET_ORDER = link("GET", "/orders/{order_id}", "The order and its status", order_id="order_id")
GET_SAGA = link("GET", "/orders/{order_id}/saga", "The order's saga steps", order_id="order_id")
CANCEL_ORDER = link(
    "POST", "/orders/{order_id}/cancel", "Cancel the order once CONFIRMED", order_id="order_id"
)


def order_view(order: Order) -> OrderOut:
    return OrderOut(
        order_id=order.id,
        status=OrderStatus(order.status),
        account_id=order.account_id,
        items=[OrderLineOut.model_validate(item) for item in order.items],
        amount_cents=order.amount_cents,
        failure_reason=order.failure_reason,
    )


def _not_found(order_id: str) -> ProblemError:
    return ProblemError(404, "not_found", f"no order {order_id!r}")


def build_router(db: Database, saga: Saga, worker: SagaWorker) -> APIRouter:
    router = APIRouter(tags=["orders"])
    store = IdempotencyStore(db, IdempotencyRecord)

    @router.post(
        "/orders",
        response_model=OrderOut,
        status_code=202,
        summary="Accept an order (once per Idempotency-Key); its saga runs in the background",
        responses={
            202: {
                "model": OrderOut,
                "description": "Accepted as PENDING; also the replay of an earlier request",
                "headers": {
                    "Location": {
                        "description": "The order's URL",
                        "schema": {"type": "string"},
                    }
                },
                "links": {"GetOrder": GET_ORDER, "GetSaga": GET_SAGA, "CancelOrder": CANCEL_ORDER},
            },
            **problems.responses(400, 409, 422, 503),
        },
        # Read by hand, not as a FastAPI parameter, so that a missing key is the documented
        # 400 rather than a 422, while the OpenAPI still says the header is required.
        openapi_extra={"parameters": [IDEMPOTENCY_KEY_PARAMETER]},
    )
    def create_order(body: OrderRequest, request: Request) -> JSONResponse:
        idempotency_key = required_key(request, "POST /orders")
        carrier: dict[str, str] = {}
        tracing.inject(carrier)

        def accept(session: Session) -> tuple[int, dict[str, Any]]:
            # The order and its saga record commit together with the stored response.
            order = Order(
                id=str(uuid.uuid4()),
                account_id=body.account_id,
                items=[line.model_dump() for line in body.items],
                amount_cents=body.amount_cents(),
                status=OrderStatus.PENDING.value,
                cancel_requested=False,
                request_id=context.request_id.get(),
                traceparent=carrier.get("traceparent"),
            )
            session.add(order)
            session.flush()
            add_steps(session, order.id, FORWARD_STEPS)
            return 202, order_view(order).model_dump(mode="json")

        outcome = store.execute(idempotency_key, body.model_dump(mode="json"), accept)
        order_id = str(outcome.body["order_id"])
        # After the commit: the worker must never see an order that might still roll back.
        # Should this process die right here, the worker's scan picks the order up.
        worker.submit(order_id)
        headers = {"Location": f"/orders/{order_id}"}
        if outcome.replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)

    @router.get(
        "/orders/{order_id}",
        response_model=OrderOut,
        summary="An order and its status",
        responses=problems.responses(404, 422, 503),
    )
    def get_order(order_id: OrderIdPath) -> OrderOut:
        order = saga.order(order_id)
        if order is None:
            raise _not_found(order_id)
        return order_view(order)

    @router.get(
        "/orders/{order_id}/saga",
        response_model=SagaOut,
        summary="An order's saga: each step's status, attempts and last detail",
        responses=problems.responses(404, 422, 503),
    )
    def get_saga(order_id: OrderIdPath) -> SagaOut:
        with db.session() as session:
            order = session.get(Order, order_id)
            if order is None:
                raise _not_found(order_id)
            steps = session.scalars(
                select(SagaStep).where(SagaStep.order_id == order_id).order_by(SagaStep.position)
            )
            return SagaOut(
                order_id=order.id,
                status=OrderStatus(order.status),
                steps=[SagaStepOut.model_validate(step, from_attributes=True) for step in steps],
            )

    @router.post(
        "/orders/{order_id}/cancel",
        response_model=OrderOut,
        summary="Cancel a CONFIRMED order: refund, return the stock (idempotent)",
        description=(
            "409 `order_not_confirmed` unless the order is CONFIRMED (or CANCELLED already, "
            "which answers 200). 503 when a downstream is unavailable: the cancellation is "
            "recorded and finishes in the background; asking again shows CANCELLED."
        ),
        responses={
            200: {"links": {"GetOrder": GET_ORDER, "GetSaga": GET_SAGA}},
            **problems.responses(404, 409, 422, 503),
        },
    )
    def cancel_order(order_id: OrderIdPath) -> OrderOut:
        order = saga.request_cancel(order_id)
        if order is None:
            raise _not_found(order_id)
        if order.status == OrderStatus.CANCELLED:
            return order_view(order)
        if order.status != OrderStatus.CONFIRMED:
            raise ProblemError(
                409,
                "order_not_confirmed",
                f"order {order_id!r} is {order.status}; only a CONFIRMED order can be cancelled",
            )
        try:
            order = saga.cancel(order_id, patient=False)
        except CompensationRefused as exc:
            worker.submit(order_id)
            raise ProblemError(409, "cancel_refused", str(exc)) from exc
        except Exception:
            # Recorded already: the worker finishes it. The client sees the 503 (or 500).
            worker.submit(order_id)
            raise
        return order_view(order)

    return router
