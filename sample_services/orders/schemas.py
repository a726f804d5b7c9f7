"""Orders request and response bodies. Requests are strict: "1" and true are not 1 (1.0 is)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sample_services.common.numbers import JsonInt
from sample_services.orders.models import OrderStatus, StepStatus

# Identifiers are plain tokens (same rule as inventory and payments), so whatever orders
# accepts, its downstreams accept too.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
Sku = Annotated[str, Field(min_length=1, max_length=100, pattern=ID_PATTERN)]
AccountId = Annotated[str, Field(min_length=1, max_length=128, pattern=ID_PATTERN)]

MAX_QUANTITY = 1_000_000
MAX_UNIT_PRICE_CENTS = 100_000_000
MAX_LINES = 100


class StrictRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class OrderLine(StrictRequest):
    sku: Sku
    quantity: JsonInt = Field(gt=0, le=MAX_QUANTITY)
    # Positive: payments refuses a zero charge, so a free line would fail every saga.
    unit_price_cents: JsonInt = Field(gt=0, le=MAX_UNIT_PRICE_CENTS)


class OrderRequest(StrictRequest):
    account_id: AccountId
    items: list[OrderLine] = Field(min_length=1, max_length=MAX_LINES)

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> OrderRequest:
        skus = [line.sku for line in self.items]
        if len(skus) != len(set(skus)):
            raise ValueError("each sku may appear in one line only")
        return self

    def amount_cents(self) -> int:
        return sum(line.quantity * line.unit_price_cents for line in self.items)


class OrderLineOut(BaseModel):
    sku: str
    quantity: int
    unit_price_cents: int


class OrderOut(BaseModel):
    order_id: str
    status: OrderStatus
    account_id: str
    items: list[OrderLineOut]
    amount_cents: int
    failure_reason: str | None


class SagaStepOut(BaseModel):
    name: str
    status: StepStatus
    attempts: int
    detail: str | None


class SagaOut(BaseModel):
    order_id: str
    status: OrderStatus
    steps: list[SagaStepOut]
