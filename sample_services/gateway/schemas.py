"""The gateway's public request and response models.

Requests are strict (`"1"` is not an int, unknown fields are refused). Responses parse the
backends' JSON leniently (unknown fields dropped) so the gateway publishes exactly the
shape its OpenAPI documents, whatever a backend adds later.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sample_services.common.numbers import JsonInt

# Path ids must start with a letter or digit: a bare "." or ".." would otherwise be
# normalised away by the URL joiner and reach another backend route.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
SCOPE_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
# Inventory's bound for a sku (ids elsewhere take 128 characters).
MAX_SKU_LENGTH = 100


class StrictRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class BackendBody(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- requests -------------------------------------------------------------------------


class TokenRequest(StrictRequest):
    client_id: str = Field(pattern=ID_PATTERN, min_length=1, max_length=128)
    scopes: list[Annotated[str, Field(pattern=SCOPE_PATTERN)]] = Field(
        default_factory=list, max_length=32
    )

    def normalised_scopes(self) -> list[str]:
        return sorted(set(self.scopes))


# The same bounds as the backends' own models: the gateway refuses (422, documented here)
# what a backend would refuse anyway, and never refuses what a backend accepts.
class OrderItemIn(StrictRequest):
    sku: str = Field(pattern=ID_PATTERN, min_length=1, max_length=MAX_SKU_LENGTH)
    quantity: JsonInt = Field(gt=0, le=1_000_000)
    unit_price_cents: JsonInt = Field(gt=0, le=100_000_000)


class CreateOrder(StrictRequest):
    account_id: str = Field(pattern=ID_PATTERN, min_length=1, max_length=128)
    items: list[OrderItemIn] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> CreateOrder:
        skus = [line.sku for line in self.items]
        if len(skus) != len(set(skus)):
            raise ValueError("each sku may appear in one line only")
        return self


class SetStock(StrictRequest):
    available: JsonInt = Field(ge=0, le=1_000_000_000)


class SetBalance(StrictRequest):
    balance_cents: JsonInt = Field(ge=0, le=1_000_000_000_000)


# --- responses ------------------------------------------------------------------------


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


OrderStatus = Literal["PENDING", "CONFIRMED", "COMPENSATING", "COMPENSATED", "CANCELLED"]


class OrderLine(BackendBody):
    sku: str
    quantity: int
    unit_price_cents: int


class Order(BackendBody):
    order_id: str
    status: OrderStatus
    account_id: str
    items: list[OrderLine]
    amount_cents: int
    failure_reason: str | None = None


class Shipment(BackendBody):
    order_id: str
    shipment_id: str
    status: Literal["CREATED", "CANCELLED"]


class OrderView(Order):
    """An order with its shipment: null when there is none yet or shipping cannot say."""

    shipment: Shipment | None


class SagaStep(BackendBody):
    name: str
    status: str
    attempts: int
    detail: str | None = None


class Saga(BackendBody):
    order_id: str
    status: OrderStatus
    steps: list[SagaStep]


class Stock(BackendBody):
    sku: str
    available: int
    reserved: int
    sold: int
    received: int


class Account(BackendBody):
    account_id: str
    balance_cents: int
    credited_cents: int


class Payment(BackendBody):
    payment_id: str
    order_id: str
    account_id: str
    amount_cents: int
    status: Literal["CAPTURED", "REFUNDED"]
