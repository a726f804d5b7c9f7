"""A purpose-built shop: an order charges the bank once per Idempotency-Key.

``BUGS=double_charge`` plants the classic idempotency bug: a replayed request answers
with the stored response, as it should, but charges the bank again on the way (with a
fresh charge key, so the bank cannot tell). Run: ``PORT=8000 BANK_URL=...
python -m tests.harness.fuzz.apps.shop``.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Annotated, Any

import httpx
import uvicorn
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

BUGS = {bug for bug in os.environ.get("BUGS", "").split(",") if bug}
app = FastAPI(title="shop", version="1.0.0")
bank = httpx.Client(base_url=os.environ.get("BANK_URL", ""), timeout=5, trust_env=False)
lock = threading.Lock()
orders: dict[str, dict[str, Any]] = {}
answers: dict[str, dict[str, Any]] = {}


class OrderIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    account_id: str
    amount: int = Field(gt=0)


def _charge(order_id: str, body: OrderIn, key: str) -> str:
    response = bank.post(
        "/charges",
        json={"order_id": order_id, "account_id": body.account_id, "amount": body.amount},
        headers={"Idempotency-Key": key},
    )
    return "PAID" if response.status_code == 201 else "REJECTED"


@app.post("/orders", status_code=201)
def place_order(
    body: OrderIn, idempotency_key: Annotated[str, Header(alias="Idempotency-Key")]
) -> JSONResponse:
    with lock:
        stored = answers.get(idempotency_key)
        if stored is not None:
            if "double_charge" in BUGS:
                _charge(stored["order_id"], body, key=uuid.uuid4().hex)  # the bug
            return JSONResponse(stored, status_code=201, headers={"Idempotent-Replayed": "true"})
        order_id = uuid.uuid4().hex[:12]
        status = _charge(order_id, body, key=f"{order_id}:charge")
        order = {"order_id": order_id, "status": status, **body.model_dump()}
        orders[order_id] = order
        answers[idempotency_key] = order
        return JSONResponse(order, status_code=201)


@app.get("/orders/{order_id}")
def get_order(order_id: str) -> dict[str, Any]:
    if order_id not in orders:
        raise HTTPException(404, "no such order")
    return orders[order_id]


@app.get("/readyz")
def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/_test/reset", include_in_schema=False)
def reset() -> dict[str, str]:
    with lock:
        orders.clear()
        answers.clear()
    return {"status": "reset"}


if __name__ == "__main__":
    port = int(os.environ["PORT"])
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=port, log_level="warning")
