"""Typed clients for the services orders calls: inventory and payments.

Pure client code on `ResilientClient` (no database, no saga logic): contract tests drive
exactly these methods against a Pact mock server. Every call returns a typed result, or
raises `Refused` (the callee answered with a definitive 4xx "no") or
`common.outbound.DownstreamError` (no usable answer; `maybe_applied` says whether the
request may have had its effect anyway).

Every POST here is idempotent by the callee's contract (reservations per order_id, commit,
refund, and the charge through its Idempotency-Key), so each carries an Idempotency-Key:
that is what tells the resilient client a lost response may be asked for again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import httpx
from opentelemetry.trace import Tracer
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from sample_services.common.metrics import ServiceMetrics
from sample_services.common.outbound import DownstreamError, ResilientClient
from sample_services.common.settings import OutboundSettings


class Refused(Exception):
    """The callee said no (4xx): a business refusal, not worth asking again."""

    def __init__(self, downstream: str, status: int, code: str, detail: str) -> None:
        super().__init__(f"{downstream} refused with {status} {code}: {detail}")
        self.downstream = downstream
        self.status = status
        self.code = code
        self.detail = detail


class _Reply(BaseModel):
    # Lenient on purpose: a provider may add fields without breaking this consumer.
    model_config = ConfigDict(extra="ignore", frozen=True)


class ReservationLine(_Reply):
    sku: str
    quantity: int


class Reservation(_Reply):
    order_id: str
    status: str
    items: list[ReservationLine]


class Payment(_Reply):
    payment_id: str
    order_id: str
    account_id: str
    amount_cents: int
    status: str


_PAYMENTS = TypeAdapter(list[Payment])
_T = TypeVar("_T", bound=BaseModel)


def _refusal(downstream: str, response: httpx.Response) -> Refused:
    code, detail = "error", response.text[:200]
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("code", code))
        detail = str(body.get("detail", detail))
    return Refused(downstream, response.status_code, code, detail)


def _parse(downstream: str, model: type[_T], response: httpx.Response) -> _T:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        # A 2xx we cannot read leaves the outcome unknown, exactly like a lost response.
        raise DownstreamError(
            downstream, f"unreadable response: {exc.error_count()} errors", maybe_applied=True
        ) from exc


def _expect(downstream: str, response: httpx.Response, *ok: int) -> None:
    if response.status_code not in ok:
        if 400 <= response.status_code < 500:
            raise _refusal(downstream, response)
        raise DownstreamError(
            downstream,
            "unexpected status",
            status=response.status_code,
            maybe_applied=True,
        )


def resilient(
    downstream: str,
    base_url: str,
    settings: OutboundSettings,
    *,
    metrics: ServiceMetrics | None = None,
    tracer: Tracer | None = None,
    http: httpx.Client | None = None,
) -> ResilientClient:
    """The resilient client for one downstream (`http` routes it elsewhere, e.g. in tests)."""
    return ResilientClient(
        downstream, base_url, settings, metrics=metrics, tracer=tracer, http=http
    )


class InventoryClient:
    """`POST/GET/DELETE /reservations...` of the inventory service."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    @classmethod
    def from_url(cls, base_url: str, settings: OutboundSettings | None = None) -> InventoryClient:
        return cls(resilient("inventory", base_url, settings or OutboundSettings()))

    def close(self) -> None:
        self.client.close()

    def reserve(self, order_id: str, items: Iterable[tuple[str, int]]) -> Reservation:
        """Hold `(sku, quantity)` lines for an order, all or none; a replay is harmless.

        Refused: 409 `insufficient_stock` | `reservation_released` | `idempotency_conflict`,
        404 unknown sku.
        """
        body = {
            "order_id": order_id,
            "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items],
        }
        response = self.client.request(
            "POST", "/reservations", json=body, idempotency_key=f"{order_id}:reserve"
        )
        _expect(self.client.downstream, response, 200, 201)
        return _parse(self.client.downstream, Reservation, response)

    def commit(self, order_id: str) -> Reservation:
        """Turn the order's held units into sold ones (idempotent)."""
        response = self.client.request(
            "POST", f"/reservations/{order_id}/commit", idempotency_key=f"{order_id}:commit"
        )
        _expect(self.client.downstream, response, 200)
        return _parse(self.client.downstream, Reservation, response)

    def release(self, order_id: str) -> Reservation:
        """Return the order's units to stock; for an unknown order, leave a tombstone."""
        response = self.client.request("DELETE", f"/reservations/{order_id}")
        _expect(self.client.downstream, response, 200)
        return _parse(self.client.downstream, Reservation, response)

    def get_reservation(self, order_id: str) -> Reservation | None:
        response = self.client.request("GET", f"/reservations/{order_id}")
        if response.status_code == 404:
            return None
        _expect(self.client.downstream, response, 200)
        return _parse(self.client.downstream, Reservation, response)


def charge_key(order_id: str) -> str:
    """One charge per order, whoever asks and however often."""
    return f"{order_id}:charge"


class PaymentsClient:
    """`/payments...` of the payments service."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    @classmethod
    def from_url(cls, base_url: str, settings: OutboundSettings | None = None) -> PaymentsClient:
        return cls(resilient("payments", base_url, settings or OutboundSettings()))

    def close(self) -> None:
        self.client.close()

    def charge(self, order_id: str, account_id: str, amount_cents: int) -> Payment:
        """Capture the order's amount, once (Idempotency-Key `<order_id>:charge`).

        Refused: 402 `insufficient_funds`, 404 unknown account, 409 `idempotency_conflict`.
        """
        response = self.client.request(
            "POST",
            "/payments",
            json={"order_id": order_id, "account_id": account_id, "amount_cents": amount_cents},
            idempotency_key=charge_key(order_id),
        )
        _expect(self.client.downstream, response, 200, 201)
        return _parse(self.client.downstream, Payment, response)

    def refund(self, payment_id: str) -> Payment:
        """Give a captured payment back (idempotent: refunding twice refunds once)."""
        response = self.client.request(
            "POST", f"/payments/{payment_id}/refund", idempotency_key=f"{payment_id}:refund"
        )
        _expect(self.client.downstream, response, 200)
        return _parse(self.client.downstream, Payment, response)

    def get_payment(self, payment_id: str) -> Payment | None:
        response = self.client.request("GET", f"/payments/{payment_id}")
        if response.status_code == 404:
            return None
        _expect(self.client.downstream, response, 200)
        return _parse(self.client.downstream, Payment, response)

    def payments_for_order(self, order_id: str) -> list[Payment]:
        """Every payment made for an order: how a charge with an unknown outcome is found."""
        response = self.client.request("GET", "/payments", params={"order_id": order_id})
        _expect(self.client.downstream, response, 200)
        try:
            return _PAYMENTS.validate_json(response.content)
        except ValidationError as exc:
            raise DownstreamError(
                self.client.downstream,
                f"unreadable response: {exc.error_count()} errors",
                maybe_applied=False,
            ) from exc
