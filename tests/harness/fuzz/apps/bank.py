"""A purpose-built bank: accounts and idempotent charges (one per Idempotency-Key).

Run: ``PORT=8000 python -m tests.harness.fuzz.apps.bank``.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, Header, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

app = FastAPI(title="bank", version="1.0.0")
lock = threading.Lock()
accounts: dict[str, dict[str, int]] = {}
charges: list[dict[str, Any]] = []
by_key: dict[str, tuple[int, dict[str, Any]]] = {}


class Balance(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    balance: int = Field(ge=0)


class ChargeIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    order_id: str
    account_id: str
    amount: int = Field(gt=0)


@app.put("/accounts/{account_id}")
def set_balance(account_id: str, body: Balance) -> dict[str, Any]:
    with lock:
        account = accounts.setdefault(account_id, {"balance": 0, "credited": 0})
        account["credited"] += body.balance - account["balance"]
        account["balance"] = body.balance
        return {"account_id": account_id, **account}


@app.get("/accounts/{account_id}")
def get_account(account_id: str) -> dict[str, Any]:
    if account_id not in accounts:
        raise HTTPException(404, "no such account")
    return {"account_id": account_id, **accounts[account_id]}


@app.post("/charges")
def charge(
    body: ChargeIn, idempotency_key: Annotated[str, Header(alias="Idempotency-Key")]
) -> JSONResponse:
    with lock:
        if idempotency_key in by_key:
            status, answer = by_key[idempotency_key]
            return JSONResponse(answer, status_code=status)
        account = accounts.get(body.account_id)
        if account is None or account["balance"] < body.amount:
            status, answer = 402, {"detail": "insufficient_funds"}
        else:
            account["balance"] -= body.amount
            answer = {"charge_id": uuid.uuid4().hex, **body.model_dump()}
            charges.append(answer)
            status = 201
        by_key[idempotency_key] = (status, answer)
        return JSONResponse(answer, status_code=status)


@app.get("/charges")
def list_charges(order_id: Annotated[str, Query()]) -> list[dict[str, Any]]:
    return [c for c in charges if c["order_id"] == order_id]


@app.get("/readyz")
def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/_test/reset", include_in_schema=False)
def reset() -> dict[str, str]:
    with lock:
        accounts.clear()
        charges.clear()
        by_key.clear()
    return {"status": "reset"}


if __name__ == "__main__":
    port = int(os.environ["PORT"])
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=port, log_level="warning")
