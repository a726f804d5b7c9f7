"""A purpose-built service whose OpenAPI lists no operation: nothing to fuzz.

It is healthy and serves ``/openapi.json``; every route it has is left out of the schema.
Run: ``PORT=8000 python -m tests.harness.fuzz.apps.empty``.
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI

app = FastAPI(title="empty", version="1.0.0")


@app.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/readyz", include_in_schema=False)
def readyz() -> dict[str, str]:
    return {"status": "ready"}


if __name__ == "__main__":
    port = int(os.environ["PORT"])
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=port, log_level="warning")
