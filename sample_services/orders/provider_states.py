"""Provider states for contract verification (mounted only with ENABLE_TEST_HOOKS=1).

Each state name is a template; its values come in `params`, e.g.
`{"state": "order {order_id} is CONFIRMED", "params": {"order_id": "O-1", "amount_cents": 500}}`.
Orders are written directly (no saga runs): a state is a fact, not a workflow. A PENDING
order is also parked so the background worker leaves it PENDING for the test, until
"saga of order {order_id} has run" drives its saga to the end within that request.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import delete

from sample_services.common.db import Database
from sample_services.common.problems import ProblemError
from sample_services.common.provider_params import identifier
from sample_services.orders.models import (
    COMPENSATION_STEPS,
    FORWARD_STEPS,
    STEP_POSITION,
    Order,
    OrderStatus,
    OutboxMessage,
    SagaStep,
    StepName,
    StepStatus,
)
from sample_services.orders.saga import Unfinished
from sample_services.orders.schemas import ID_PATTERN
from sample_services.orders.worker import SagaWorker

StateHandler = Callable[[dict[str, Any]], None]

DEFAULT_ACCOUNT = "ACC-1"
DEFAULT_ITEMS: list[dict[str, Any]] = [{"sku": "SKU-1", "quantity": 1, "unit_price_cents": 500}]


_text = partial(identifier, pattern=ID_PATTERN, max_length=128)


def _count(params: dict[str, Any], name: str, default: int) -> int:
    # Pact sends params as JSON, and some consumers write numbers as strings.
    value = params.get(name, default)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= 10**12:
        raise ProblemError(400, "bad_state_params", f"param {name!r} must be a positive integer")
    return value


def _items(params: dict[str, Any]) -> list[dict[str, Any]]:
    raw = params.get("items", DEFAULT_ITEMS)
    if not isinstance(raw, list) or not raw:
        raise ProblemError(400, "bad_state_params", "param 'items' must be a non-empty list")
    items = []
    for line in raw:
        if not isinstance(line, dict):
            raise ProblemError(400, "bad_state_params", "each item must be an object")
        items.append(
            {
                "sku": _text(line, "sku"),
                "quantity": _count(line, "quantity", 1),
                "unit_price_cents": _count(line, "unit_price_cents", 1),
            }
        )
    return items


def _forget(db: Database, order_id: str) -> None:
    with db.session() as session:
        session.execute(delete(SagaStep).where(SagaStep.order_id == order_id))
        session.execute(delete(OutboxMessage).where(OutboxMessage.order_id == order_id))
        session.execute(delete(Order).where(Order.id == order_id))


def _step_statuses(status: OrderStatus) -> dict[StepName, StepStatus]:
    """What the saga's rows look like when it ends in `status`."""
    if status == OrderStatus.PENDING:
        return dict.fromkeys(FORWARD_STEPS, StepStatus.PENDING)
    if status == OrderStatus.CONFIRMED:
        return dict.fromkeys(FORWARD_STEPS, StepStatus.SUCCEEDED)
    if status == OrderStatus.CANCELLED:
        return dict.fromkeys(FORWARD_STEPS + COMPENSATION_STEPS, StepStatus.SUCCEEDED)
    # COMPENSATED: the reservation was refused, so there was nothing to undo.
    return {
        StepName.RESERVE: StepStatus.FAILED,
        StepName.CHARGE: StepStatus.PENDING,
        StepName.COMMIT: StepStatus.PENDING,
        StepName.REFUND: StepStatus.SKIPPED,
        StepName.RELEASE: StepStatus.SKIPPED,
    }


def _put(db: Database, params: dict[str, Any], status: OrderStatus) -> None:
    order_id = _text(params, "order_id")
    items = _items(params)
    amount = sum(line["quantity"] * line["unit_price_cents"] for line in items)
    amount = _count(params, "amount_cents", amount)
    failure = None
    if status == OrderStatus.COMPENSATED:
        failure = str(params.get("failure_reason", "reserve refused: insufficient_stock"))
    _forget(db, order_id)
    with db.session() as session:
        session.add(
            Order(
                id=order_id,
                account_id=_text(params, "account_id", DEFAULT_ACCOUNT),
                items=items,
                amount_cents=amount,
                status=status.value,
                failure_reason=failure,
                payment_id=_text(params, "payment_id") if "payment_id" in params else None,
                cancel_requested=status == OrderStatus.CANCELLED,
            )
        )
        session.flush()
        for name, step_status in _step_statuses(status).items():
            session.add(
                SagaStep(
                    order_id=order_id,
                    name=name.value,
                    position=STEP_POSITION[name],
                    status=step_status.value,
                    attempts=1 if step_status in (StepStatus.SUCCEEDED, StepStatus.FAILED) else 0,
                    maybe_applied=False,
                    detail=failure if step_status == StepStatus.FAILED else None,
                )
            )


def states(db: Database, worker: SagaWorker) -> dict[str, StateHandler]:
    def pending(params: dict[str, Any]) -> None:
        # Parked before it exists, so no scan can slip in between.
        worker.hold(_text(params, "order_id"))
        _put(db, params, OrderStatus.PENDING)

    def no_order(params: dict[str, Any]) -> None:
        _forget(db, _text(params, "order_id"))

    def saga_has_run(params: dict[str, Any]) -> None:
        # Drives the saga in the calling request, for tests that want no background timing.
        # Parked meanwhile, so the worker does not run the same saga alongside.
        order_id = _text(params, "order_id")
        worker.hold(order_id)
        try:
            if worker.saga.run(order_id) is None:
                raise ProblemError(404, "not_found", f"no order {order_id!r}")
        except Unfinished as exc:
            raise ProblemError(409, "saga_unfinished", str(exc)) from exc
        finally:
            worker.release_hold(order_id)

    return {
        "order {order_id} is CONFIRMED": lambda p: _put(db, p, OrderStatus.CONFIRMED),
        "order {order_id} is PENDING": pending,
        "order {order_id} is COMPENSATED": lambda p: _put(db, p, OrderStatus.COMPENSATED),
        "order {order_id} is CANCELLED": lambda p: _put(db, p, OrderStatus.CANCELLED),
        "no order {order_id}": no_order,
        "saga of order {order_id} has run": saga_has_run,
    }
