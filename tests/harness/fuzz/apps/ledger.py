"""The vault's backend: counts entries (no OpenAPI of its own to fuzz)."""

from __future__ import annotations

import os
from typing import Any

import uvicorn
from fastapi import FastAPI

app = FastAPI(title="ledger", version="1.0.0", openapi_url=None)
entries: list[dict[str, Any]] = []


@app.post("/entries", status_code=201)
def add(entry: dict[str, Any]) -> dict[str, int]:
    entries.append(entry)
    return {"count": len(entries)}


@app.get("/entries")
def count() -> dict[str, int]:
    return {"count": len(entries)}


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/readyz")
def readyz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
