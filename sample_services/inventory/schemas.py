"""Inventory request and response bodies. Requests are strict: "1" and true are not 1 (1.0 is)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from sample_services.common.numbers import JsonInt
from sample_services.inventory.models import ReservationStatus

# Identifiers are plain tokens: no NUL or control characters can reach PostgreSQL.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
Sku = Annotated[str, Field(min_length=1, max_length=100, pattern=ID_PATTERN)]
OrderId = Annotated[str, Field(min_length=1, max_length=128, pattern=ID_PATTERN)]

MAX_AVAILABLE = 1_000_000_000
MAX_QUANTITY = 1_000_000
MAX_LINES = 100


class StrictRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class StockLevel(StrictRequest):
    available: JsonInt = Field(ge=0, le=MAX_AVAILABLE)


class ReservationLine(StrictRequest):
    sku: Sku
    quantity: JsonInt = Field(gt=0, le=MAX_QUANTITY)


class ReservationRequest(StrictRequest):
    order_id: OrderId
    items: list[ReservationLine] = Field(min_length=1, max_length=MAX_LINES)


class StockOut(BaseModel):
    sku: str
    available: int
    reserved: int
    sold: int
    received: int


class ReservationLineOut(BaseModel):
    sku: str
    quantity: int


class ReservationOut(BaseModel):
    order_id: str
    status: ReservationStatus
    items: list[ReservationLineOut]
