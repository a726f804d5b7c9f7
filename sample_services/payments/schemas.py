"""Payments request and response bodies. Requests are strict: "1" and true are not 1 (1.0 is)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from sample_services.common.numbers import JsonInt
from sample_services.payments.models import PaymentStatus

# Identifiers are plain tokens: no NUL or control characters can reach PostgreSQL.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=ID_PATTERN)]

MAX_CENTS = 1_000_000_000_000


class StrictRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class BalanceRequest(StrictRequest):
    balance_cents: JsonInt = Field(ge=0, le=MAX_CENTS)


class PaymentRequest(StrictRequest):
    order_id: Identifier
    account_id: Identifier
    amount_cents: JsonInt = Field(gt=0, le=MAX_CENTS)


class AccountOut(BaseModel):
    account_id: str
    balance_cents: int
    credited_cents: int


class PaymentOut(BaseModel):
    payment_id: str
    order_id: str
    account_id: str
    amount_cents: int
    status: PaymentStatus
