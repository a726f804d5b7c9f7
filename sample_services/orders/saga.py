"""The checkout saga, orchestrated by orders: reserve -> charge -> commit -> CONFIRMED.

Every step's status and attempts are persisted before and after each call, so a saga
interrupted anywhere (crash, shutdown) resumes from its rows. Steps are idempotent on the
callee's side (reservation per order_id, charge per Idempotency-Key, commit, refund,
release), so running a step again after an unknown outcome is always safe.

- Transient failures (`DownstreamError`: timeouts, 5xx, open breaker, full bulkhead) are
  retried with backoff until `saga_step_deadline` after the step's first attempt.
- Refusals (`Refused`: 409 insufficient_stock, 402 insufficient_funds, ...) fail at once.
- A failed forward step compensates in reverse: refund, then release. Compensations are
  idempotent and retried until they succeed.
- CONFIRMED and CANCELLED are announced through the outbox, in the transaction that makes
  the change. COMPENSATED is not: shipping never saw that order confirmed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from opentelemetry.trace import Tracer, format_trace_id
from prometheus_client import Counter
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from sample_services.common import context, tracing
from sample_services.common.db import Database
from sample_services.common.metrics import ServiceMetrics
from sample_services.common.outbound import DownstreamError
from sample_services.orders import events
from sample_services.orders.clients import InventoryClient, PaymentsClient, Refused
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
from sample_services.orders.settings import OrdersSettings

log = logging.getLogger("sample_services.orders.saga")

UNFINISHED_BATCH = 500


class Stopped(Exception):
    """The service is shutting down; the saga carries on from its rows on the next start."""


class Unfinished(Exception):
    """The saga cannot progress now; its rows say where to carry on, and the worker's
    scanner does so later (a compensation is never abandoned, only postponed)."""


class CompensationRefused(Unfinished):
    """A callee refused an undo (4xx): logged loudly, retried at the scan interval."""


class CompensationDeferred(Unfinished):
    """An undo kept failing transiently for a whole step deadline. Retrying it from the
    scanner rather than in a loop keeps a long outage from tying up every worker."""


@dataclass(frozen=True)
class StepOutcome:
    detail: str
    payment_id: str | None = None


StepCall = Callable[[], StepOutcome]


class SagaMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.finished = Counter(
            "saga_finished_total",
            "Sagas that reached a final status",
            ["status"],
            registry=metrics.registry,
        )
        self.attempts = Counter(
            "saga_step_attempts_total",
            "Saga step attempts by outcome (ok, refused, transient)",
            ["step", "outcome"],
            registry=metrics.registry,
        )


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for what was stored as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def add_steps(session: Session, order_id: str, names: tuple[StepName, ...]) -> None:
    """Create the named steps (PENDING) unless they exist: safe to call again."""
    for name in names:
        if session.get(SagaStep, (order_id, name.value)) is None:
            session.add(
                SagaStep(
                    order_id=order_id,
                    name=name.value,
                    position=STEP_POSITION[name],
                    status=StepStatus.PENDING.value,
                    attempts=0,
                    maybe_applied=False,
                )
            )


class Saga:
    """Drives one order at a time from whatever its rows say to a final status."""

    def __init__(
        self,
        db: Database,
        inventory: InventoryClient,
        payments: PaymentsClient,
        settings: OrdersSettings,
        *,
        metrics: ServiceMetrics | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.db = db
        self.inventory = inventory
        self.payments = payments
        self.settings = settings
        self.metrics = SagaMetrics(metrics) if metrics is not None else None
        self.tracer = tracer
        # Set on shutdown: backoff waits end at once and the saga stops where it is.
        self.stopping = threading.Event()

    # ---- entry points -------------------------------------------------------------

    def run(self, order_id: str) -> OrderStatus | None:
        """Take the order as far as it can go; None when there is no such order.

        Raises `Stopped` on shutdown and `Unfinished` when an undo cannot be done yet;
        either way the rows say where to carry on.
        """
        order = self.order(order_id)
        if order is None:
            return None
        with self._continue_request(order):
            if order.status == OrderStatus.PENDING:
                order = self._confirm(order_id) if self._forward(order) else self._load(order_id)
            if order.status == OrderStatus.COMPENSATING:
                order = self._compensate(order)
            if order.status == OrderStatus.CONFIRMED and order.cancel_requested:
                order = self.cancel(order_id, patient=True)
        return OrderStatus(order.status)

    def request_cancel(self, order_id: str) -> Order | None:
        """Record the intent to cancel a CONFIRMED order; returns the order as it now is.

        Any other status is returned unchanged: the caller tells the client why not.
        """
        with self.db.session() as session:
            order = session.get(Order, order_id, with_for_update=True)
            if order is None:
                return None
            if order.status == OrderStatus.CONFIRMED and not order.cancel_requested:
                order.cancel_requested = True
                add_steps(session, order_id, COMPENSATION_STEPS)
            return order

    def cancel(self, order_id: str, *, patient: bool) -> Order:
        """Refund and return the stock of a CONFIRMED order, then mark it CANCELLED.

        `patient=False` (a request thread) makes one attempt per undo and lets a
        `DownstreamError` through; the worker (`patient=True`) retries with backoff for
        a step deadline, then defers to the scanner.
        """
        order = self._load(order_id)
        if order.status != OrderStatus.CONFIRMED or not order.cancel_requested:
            return order
        steps = self.steps(order_id)
        if steps[StepName.REFUND].status != StepStatus.SUCCEEDED:
            self._undo(order_id, StepName.REFUND, lambda: self._refund(order), patient=patient)
        if steps[StepName.RELEASE].status != StepStatus.SUCCEEDED:
            self._undo(order_id, StepName.RELEASE, lambda: self._release(order), patient=patient)
        return self._finish_cancel(order_id)

    def unfinished(self) -> list[str]:
        """Orders a saga still has work for: what a restart must pick up again."""
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(Order.id)
                    .where(
                        or_(
                            Order.status.in_([OrderStatus.PENDING, OrderStatus.COMPENSATING]),
                            and_(Order.status == OrderStatus.CONFIRMED, Order.cancel_requested),
                        )
                    )
                    .order_by(Order.created_at)
                    .limit(UNFINISHED_BATCH)
                )
            )

    def order(self, order_id: str) -> Order | None:
        with self.db.session() as session:
            return session.get(Order, order_id)

    def steps(self, order_id: str) -> dict[str, SagaStep]:
        with self.db.session() as session:
            rows = session.scalars(select(SagaStep).where(SagaStep.order_id == order_id))
            return {row.name: row for row in rows}

    # ---- forward --------------------------------------------------------------------

    def _forward(self, order: Order) -> bool:
        """Run the forward steps not yet done; False once one failed (compensation began)."""
        lines = [(str(item["sku"]), int(item["quantity"])) for item in order.items]

        def reserve() -> StepOutcome:
            reservation = self.inventory.reserve(order.id, lines)
            return StepOutcome(f"reservation {reservation.status}")

        def charge() -> StepOutcome:
            payment = self.payments.charge(order.id, order.account_id, order.amount_cents)
            return StepOutcome(
                f"payment {payment.payment_id} {payment.status}", payment_id=payment.payment_id
            )

        def commit() -> StepOutcome:
            reservation = self.inventory.commit(order.id)
            return StepOutcome(f"reservation {reservation.status}")

        calls: dict[StepName, StepCall] = {
            StepName.RESERVE: reserve,
            StepName.CHARGE: charge,
            StepName.COMMIT: commit,
        }
        steps = self.steps(order.id)
        for name in FORWARD_STEPS:
            if steps[name].status == StepStatus.SUCCEEDED:
                continue
            if not self._forward_step(order.id, name, calls[name]):
                return False
        return True

    def _forward_step(self, order_id: str, name: StepName, call: StepCall) -> bool:
        started = self._start_clock(order_id, name)
        elapsed = (datetime.now(UTC) - started).total_seconds()
        # After a restart past the deadline this still makes one attempt: the callee may
        # well be back, and one call is cheaper than a compensation.
        budget = max(0.0, self.settings.saga_step_deadline - elapsed)
        try:
            for attempt in self._retrying(budget):
                with attempt:
                    outcome = self._attempt(order_id, name, call)
        except Refused as exc:
            self._fail_forward(order_id, name, str(exc), f"{name} refused: {exc.code}")
            return False
        except DownstreamError as exc:
            self._fail_forward(
                order_id,
                name,
                f"gave up after {self.settings.saga_step_deadline:g}s: {exc}",
                f"{name} failed: {exc.downstream} unavailable",
            )
            return False
        self._succeed(order_id, name, outcome)
        return True

    # ---- compensation and cancellation ---------------------------------------------

    def _compensate(self, order: Order) -> Order:
        steps = self.steps(order.id)
        charge, reserve = steps[StepName.CHARGE], steps[StepName.RESERVE]
        done = {StepStatus.SUCCEEDED.value, StepStatus.SKIPPED.value}
        if steps[StepName.REFUND].status not in done:
            if order.payment_id is None and not charge.maybe_applied:
                self._skip(order.id, StepName.REFUND, "no charge can have been made")
            else:
                self._undo(order.id, StepName.REFUND, lambda: self._refund(order), patient=True)
        if steps[StepName.RELEASE].status not in done:
            if reserve.status != StepStatus.SUCCEEDED and not reserve.maybe_applied:
                self._skip(order.id, StepName.RELEASE, "no reservation can have been made")
            else:
                self._undo(order.id, StepName.RELEASE, lambda: self._release(order), patient=True)
        return self._finish_compensation(order.id)

    def _refund(self, order: Order) -> StepOutcome:
        if order.payment_id is not None:
            payment = self.payments.refund(order.payment_id)
            return StepOutcome(f"payment {payment.payment_id} {payment.status}")
        # The charge's outcome is unknown, and a charge may still be in flight (slow link):
        # looking it up could miss it. Replaying the charge with its Idempotency-Key settles
        # the outcome for good: payments answers with the one stored result for the key, a
        # late original replays that result too, and a refusal is stored the same way.
        try:
            payment = self.payments.charge(order.id, order.account_id, order.amount_cents)
        except Refused as refused:
            return StepOutcome(f"charge settled as refused ({refused.code}): nothing to refund")
        refunded = self.payments.refund(payment.payment_id)
        return StepOutcome(f"settled charge {payment.payment_id}, {refunded.status}")

    def _release(self, order: Order) -> StepOutcome:
        # DELETE is idempotent and tombstones an unknown order, so a reserve still in
        # flight cannot hold stock after this.
        reservation = self.inventory.release(order.id)
        return StepOutcome(f"reservation {reservation.status}")

    def _undo(self, order_id: str, name: StepName, call: StepCall, *, patient: bool) -> None:
        try:
            if patient:
                # At least a second try before deferring: one attempt slower than the
                # whole deadline (a busy host, a slow link) is no evidence the callee is
                # down, and the scanner would otherwise take minutes to come back to it.
                retrying = self._retrying(self.settings.saga_step_deadline, min_attempts=2)
                for attempt in retrying:
                    with attempt:
                        outcome = self._attempt(order_id, name, call)
            else:
                outcome = self._attempt(order_id, name, call)
        except DownstreamError as exc:
            if not patient:
                raise
            log.warning("compensation deferred", extra={"order_id": order_id, "step": name.value})
            raise CompensationDeferred(str(exc)) from exc
        except Refused as exc:
            self._record(order_id, name, status=StepStatus.FAILED, detail=str(exc))
            log.error("compensation refused", extra={"order_id": order_id, "step": name.value})
            raise CompensationRefused(str(exc)) from exc
        self._succeed(order_id, name, outcome)

    # ---- attempts -------------------------------------------------------------------

    def _retrying(self, budget: float, *, min_attempts: int = 1) -> Retrying:
        """Retries of transient failures until ``budget`` seconds have passed, and not
        before ``min_attempts`` attempts were made."""
        s = self.settings
        return Retrying(
            stop=stop_after_delay(budget) & stop_after_attempt(min_attempts),
            wait=wait_random_exponential(multiplier=s.saga_backoff_base, max=s.saga_backoff_cap),
            retry=retry_if_exception_type(DownstreamError),
            sleep=self._sleep,
            reraise=True,
        )

    def _sleep(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise Stopped

    def _attempt(self, order_id: str, name: StepName, call: StepCall) -> StepOutcome:
        if self.stopping.is_set():
            raise Stopped
        earlier = self._begin_attempt(order_id, name)
        try:
            outcome = call()
        except DownstreamError as exc:
            self._count(name, "transient")
            self._record(
                order_id, name, maybe_applied=earlier or exc.maybe_applied, detail=str(exc)
            )
            raise
        except Refused as exc:
            self._count(name, "refused")
            # A refusal proves this attempt did nothing; earlier ones may still have.
            self._record(order_id, name, maybe_applied=earlier, detail=str(exc))
            raise
        self._count(name, "ok")
        return outcome

    def _count(self, name: StepName, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.attempts.labels(name.value, outcome).inc()

    # ---- persistence: one short transaction each --------------------------------------

    def _load(self, order_id: str) -> Order:
        order = self.order(order_id)
        if order is None:
            raise LookupError(f"order {order_id} vanished during its saga")
        return order

    def _start_clock(self, order_id: str, name: StepName) -> datetime:
        with self.db.session() as session:
            step = session.get(SagaStep, (order_id, name.value), with_for_update=True)
            if step is None:
                raise LookupError(f"order {order_id} has no step {name}")
            if step.started_at is None:
                step.started_at = datetime.now(UTC)
            return _aware(step.started_at)

    def _begin_attempt(self, order_id: str, name: StepName) -> bool:
        """Count the attempt and assume it lands until we learn otherwise: a crash during
        the call must leave `maybe_applied` set. Returns what earlier attempts left."""
        with self.db.session() as session:
            step = session.get(SagaStep, (order_id, name.value), with_for_update=True)
            if step is None:
                raise LookupError(f"order {order_id} has no step {name}")
            earlier = step.maybe_applied
            step.attempts += 1
            step.maybe_applied = True
            if step.started_at is None:
                step.started_at = datetime.now(UTC)
            return earlier

    def _record(
        self,
        order_id: str,
        name: StepName,
        *,
        status: StepStatus | None = None,
        maybe_applied: bool | None = None,
        detail: str | None = None,
    ) -> None:
        values: dict[str, object] = {"updated_at": datetime.now(UTC)}
        if status is not None:
            values["status"] = status.value
        if maybe_applied is not None:
            values["maybe_applied"] = maybe_applied
        if detail is not None:
            values["detail"] = detail[:1000]
        with self.db.session() as session:
            session.execute(
                update(SagaStep)
                .where(SagaStep.order_id == order_id, SagaStep.name == name.value)
                .values(**values)
            )

    def _succeed(self, order_id: str, name: StepName, outcome: StepOutcome) -> None:
        with self.db.session() as session:
            step = session.get(SagaStep, (order_id, name.value), with_for_update=True)
            if step is None:
                raise LookupError(f"order {order_id} has no step {name}")
            step.status = StepStatus.SUCCEEDED.value
            step.detail = outcome.detail[:1000]
            if outcome.payment_id is not None:
                order = session.get(Order, order_id, with_for_update=True)
                if order is not None:
                    order.payment_id = outcome.payment_id

    def _skip(self, order_id: str, name: StepName, why: str) -> None:
        self._record(order_id, name, status=StepStatus.SKIPPED, detail=why)

    def _fail_forward(self, order_id: str, name: StepName, detail: str, reason: str) -> None:
        """The step failed: mark it and begin compensating, in one transaction, so no
        restart can find a failed step under an order that still looks healthy."""
        with self.db.session() as session:
            order = session.get(Order, order_id, with_for_update=True)
            step = session.get(SagaStep, (order_id, name.value), with_for_update=True)
            if order is None or step is None:
                raise LookupError(f"order {order_id} vanished during its saga")
            step.status = StepStatus.FAILED.value
            step.detail = detail[:1000]
            if order.status == OrderStatus.PENDING:
                order.status = OrderStatus.COMPENSATING.value
                order.failure_reason = reason
                add_steps(session, order_id, COMPENSATION_STEPS)
        log.info(
            "saga compensating",
            extra={"order_id": order_id, "step": name.value, "reason": reason},
        )

    def _confirm(self, order_id: str) -> Order:
        with self.db.session() as session:
            order = session.get(Order, order_id, with_for_update=True)
            if order is None:
                raise LookupError(f"order {order_id} vanished during its saga")
            if order.status != OrderStatus.PENDING:
                return order
            order.status = OrderStatus.CONFIRMED.value
            session.flush()
            # Same transaction as the status: both commit or neither does.
            session.add(OutboxMessage.of(events.order_confirmed(order), order_id))
        self._finished(order_id, OrderStatus.CONFIRMED)
        return order

    def _finish_compensation(self, order_id: str) -> Order:
        with self.db.session() as session:
            order = session.get(Order, order_id, with_for_update=True)
            if order is None:
                raise LookupError(f"order {order_id} vanished during its saga")
            if order.status != OrderStatus.COMPENSATING:
                return order
            order.status = OrderStatus.COMPENSATED.value
        self._finished(order_id, OrderStatus.COMPENSATED)
        return order

    def _finish_cancel(self, order_id: str) -> Order:
        with self.db.session() as session:
            order = session.get(Order, order_id, with_for_update=True)
            if order is None:
                raise LookupError(f"order {order_id} vanished during its saga")
            if order.status != OrderStatus.CONFIRMED or not order.cancel_requested:
                return order
            order.status = OrderStatus.CANCELLED.value
            session.flush()
            session.add(OutboxMessage.of(events.order_cancelled(order), order_id))
        self._finished(order_id, OrderStatus.CANCELLED)
        return order

    def _finished(self, order_id: str, status: OrderStatus) -> None:
        if self.metrics is not None:
            self.metrics.finished.labels(status.value).inc()
        log.info("saga finished", extra={"order_id": order_id, "status": status.value})

    @contextmanager
    def _continue_request(self, order: Order) -> Iterator[None]:
        """Run under the accepting request's id and trace, so its logs and spans join up."""
        rid = context.request_id.set(order.request_id or order.id)
        try:
            if self.tracer is None:
                yield
                return
            parent = tracing.extract({"traceparent": order.traceparent or ""})
            with self.tracer.start_as_current_span(
                "saga", context=parent, attributes={"order.id": order.id}
            ) as span:
                trace = context.trace_id.set(format_trace_id(span.get_span_context().trace_id))
                try:
                    yield
                finally:
                    context.trace_id.reset(trace)
        finally:
            context.request_id.reset(rid)
