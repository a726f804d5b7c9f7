"""Typed clients for the gateway's four backends, one ResilientClient each.

Each method returns the backend's 2xx body as a model, raises `BackendRejected` for a 4xx
answer (the gateway passes those through verbatim) and lets `DownstreamError` out for
anything unusable (timeouts, refused connections, 5xx, open breaker, full bulkhead).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from opentelemetry.trace import Tracer
from pydantic import BaseModel, ValidationError

from sample_services.common.metrics import ServiceMetrics
from sample_services.common.outbound import DownstreamUnavailable, ResilientClient
from sample_services.common.settings import OutboundSettings
from sample_services.gateway.schemas import (
    Account,
    CreateOrder,
    Order,
    Payment,
    Saga,
    SetBalance,
    SetStock,
    Shipment,
    Stock,
)

M = TypeVar("M", bound=BaseModel)

# Backend headers worth relaying with a 4xx (a backend's own 429 says when to come back).
_RELAYED_HEADERS = ("retry-after",)


class BackendRejected(Exception):
    """A backend refused the request (4xx); its status and body go back to the caller."""

    def __init__(
        self, downstream: str, status_code: int, body: Any, headers: Mapping[str, str]
    ) -> None:
        super().__init__(f"{downstream} answered HTTP {status_code}")
        self.downstream = downstream
        self.status_code = status_code
        self.body = body
        self.headers = dict(headers)


def _path(*segments: str) -> str:
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def _rejected(downstream: str, response: httpx.Response) -> BackendRejected:
    try:
        body: Any = response.json()
    except ValueError:
        body = {"detail": response.text[:500], "code": "backend_error"}
    headers = {h: response.headers[h] for h in _RELAYED_HEADERS if h in response.headers}
    return BackendRejected(downstream, response.status_code, body, headers)


def _parse(downstream: str, response: httpx.Response, model: type[M]) -> M:
    if response.status_code >= 400:
        raise _rejected(downstream, response)
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        # The call happened, so the backend may have acted on it.
        raise DownstreamUnavailable(
            downstream,
            f"unexpected {model.__name__} body: {exc.errors()[0]['msg']}",
            status=response.status_code,
            maybe_applied=True,
        ) from exc


class OrdersClient:
    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def create_order(self, order: CreateOrder, *, idempotency_key: str) -> Order:
        response = self.client.request(
            "POST", "/orders", json=order.model_dump(), idempotency_key=idempotency_key
        )
        return _parse(self.client.downstream, response, Order)

    def get_order(self, order_id: str) -> Order:
        response = self.client.request("GET", _path("orders", order_id))
        return _parse(self.client.downstream, response, Order)

    def get_saga(self, order_id: str) -> Saga:
        response = self.client.request("GET", _path("orders", order_id, "saga"))
        return _parse(self.client.downstream, response, Saga)

    def cancel_order(self, order_id: str, *, idempotency_key: str | None = None) -> Order:
        response = self.client.request(
            "POST", _path("orders", order_id, "cancel"), idempotency_key=idempotency_key
        )
        return _parse(self.client.downstream, response, Order)


class InventoryClient:
    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def get_stock(self, sku: str) -> Stock:
        response = self.client.request("GET", _path("stock", sku))
        return _parse(self.client.downstream, response, Stock)

    def set_stock(self, sku: str, body: SetStock) -> Stock:
        response = self.client.request("PUT", _path("stock", sku), json=body.model_dump())
        return _parse(self.client.downstream, response, Stock)


class PaymentsClient:
    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def get_account(self, account_id: str) -> Account:
        response = self.client.request("GET", _path("accounts", account_id))
        return _parse(self.client.downstream, response, Account)

    def set_account(self, account_id: str, body: SetBalance) -> Account:
        response = self.client.request("PUT", _path("accounts", account_id), json=body.model_dump())
        return _parse(self.client.downstream, response, Account)

    def get_payment(self, payment_id: str) -> Payment:
        response = self.client.request("GET", _path("payments", payment_id))
        return _parse(self.client.downstream, response, Payment)


class ShippingClient:
    def __init__(self, client: ResilientClient, lookup_budget: float = 0.5) -> None:
        self.client = client
        self.lookup_budget = lookup_budget

    def get_shipment(self, order_id: str, budget: float | None = None) -> Shipment:
        response = self.client.request("GET", _path("shipments", order_id), budget=budget)
        return _parse(self.client.downstream, response, Shipment)

    def find_shipment(self, order_id: str) -> Shipment | None:
        """The order's shipment, or None while shipping has not created one (404).

        A detail of the order's answer: one attempt within ``lookup_budget`` (the fault
        matrix found a slow shipping, or a slow shipping database, holding the order's read
        for every retry of the lookup, beyond its callers' timeouts, where the degraded
        answer was ready)."""
        try:
            return self.get_shipment(order_id, budget=self.lookup_budget)
        except BackendRejected as exc:
            if exc.status_code == 404:
                return None
            raise


@dataclass
class Backends:
    orders: OrdersClient
    inventory: InventoryClient
    payments: PaymentsClient
    shipping: ShippingClient

    def resilient_clients(self) -> list[ResilientClient]:
        return [
            self.orders.client,
            self.inventory.client,
            self.payments.client,
            self.shipping.client,
        ]

    def close(self) -> None:
        for client in self.resilient_clients():
            client.close()


def connect(
    urls: Mapping[str, str],
    settings: OutboundSettings,
    *,
    metrics: ServiceMetrics | None = None,
    tracer: Tracer | None = None,
    http: Mapping[str, httpx.Client] | None = None,
    shipment_lookup_budget: float = 0.5,
) -> Backends:
    """One ResilientClient (breaker, bulkhead, retries) per backend, keyed by backend name."""
    overrides = dict(http or {})

    def client(name: str) -> ResilientClient:
        return ResilientClient(
            name, urls[name], settings, metrics=metrics, tracer=tracer, http=overrides.get(name)
        )

    return Backends(
        orders=OrdersClient(client("orders")),
        inventory=InventoryClient(client("inventory")),
        payments=PaymentsClient(client("payments")),
        shipping=ShippingClient(client("shipping"), shipment_lookup_budget),
    )
