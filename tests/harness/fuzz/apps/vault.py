"""A purpose-built secured service with a backend: clean, or with ``BUGS`` switched on.

JWT bearer tokens (HS256, the secret in ``VAULT_SECRET``) from ``POST /auth/token``;
``POST /items`` takes an ``Idempotency-Key`` (replays answer the first response with
``Idempotent-Replayed: true``; another body with the key is a 409) and records each new
item with the ledger (``LEDGER_URL``); ``DELETE /items/{item_id}`` needs scope ``admin``.

``BUGS`` (comma-separated):
``skip_auth``: ``GET /items/{item_id}`` checks no token and drops the scheme from its
OpenAPI (404 for unknown ids, with or without a token);
``expired_accepted``: ``exp`` is not checked; ``alg_none_accepted``: an unsigned token
with ``alg: none`` passes; ``ignore_key``: ``POST /items`` ignores the key (a replay makes
a second item); ``backend_before_auth``: ``GET /stats`` asks the ledger before it checks
the token.
Run: ``PORT=8000 VAULT_SECRET=... LEDGER_URL=... python -m tests.harness.fuzz.apps.vault``.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from typing import Annotated, Any

import httpx
import jwt
import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

BUGS = {bug for bug in os.environ.get("BUGS", "").split(",") if bug}
SECRET = os.environ.get("VAULT_SECRET", "vault-test-secret-0123456789abcdef0123456789")
LEDGER = os.environ.get("LEDGER_URL", "")

app = FastAPI(title="vault", version="1.0.0")
bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
items: dict[str, dict[str, Any]] = {}
keys: dict[str, tuple[str, dict[str, Any]]] = {}
lock = threading.Lock()
ledger = httpx.Client(base_url=LEDGER, timeout=5, trust_env=False)


class Problem(BaseModel):
    detail: str


class TokenIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    client_id: str = Field(min_length=1, max_length=40)
    scopes: list[str] = Field(default_factory=list, max_length=3)


class TokenOut(BaseModel):
    access_token: str


class ItemIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    name: str = Field(min_length=1, max_length=20)


class ItemOut(BaseModel):
    id: str
    name: str


class Stats(BaseModel):
    items: int


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": Problem, "description": f"problem {s}"} for s in statuses}


def _claims(credentials: HTTPAuthorizationCredentials | None) -> dict[str, Any]:
    if credentials is None:
        raise HTTPException(401, "missing token", headers={"WWW-Authenticate": "Bearer"})
    token = credentials.credentials
    try:
        header = jwt.get_unverified_header(token)
        if "alg_none_accepted" in BUGS and header.get("alg") == "none":
            return dict(jwt.decode(token, options={"verify_signature": False}))
        options = {"require": ["exp"], "verify_exp": "expired_accepted" not in BUGS}
        return dict(jwt.decode(token, SECRET, algorithms=["HS256"], options=options))
    except jwt.PyJWTError as exc:
        raise HTTPException(401, f"invalid token: {exc}") from exc


def authenticated(credentials: Credentials) -> dict[str, Any]:
    return _claims(credentials)


def admin(claims: Annotated[dict[str, Any], Depends(authenticated)]) -> None:
    if "admin" not in str(claims.get("scope", "")).split():
        raise HTTPException(403, "needs scope admin")


@app.exception_handler(StarletteHTTPException)
async def problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(
        {"detail": str(exc.detail)}, status_code=exc.status_code, headers=dict(exc.headers or {})
    )


@app.post("/auth/token", response_model=TokenOut, responses=_problems(422))
def issue_token(body: TokenIn) -> TokenOut:
    now = int(time.time())
    claims = {"sub": body.client_id, "scope": " ".join(body.scopes), "iat": now, "exp": now + 300}
    return TokenOut(access_token=jwt.encode(claims, SECRET, algorithm="HS256"))


KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}


@app.post(
    "/items",
    status_code=201,
    response_model=ItemOut,
    responses={
        **_problems(400, 401, 409, 422),
        201: {
            "headers": {
                "Idempotent-Replayed": {"schema": {"type": "string"}},
                "Location": {"schema": {"type": "string"}},
            }
        },
    },
    dependencies=[Depends(authenticated)],
    openapi_extra={"parameters": [KEY_PARAMETER]},
)
def create_item(body: ItemIn, request: Request, response: Response) -> Any:
    key = request.headers.get("Idempotency-Key")
    if not key:
        raise HTTPException(400, "needs an Idempotency-Key")
    fingerprint = json.dumps(body.model_dump(), sort_keys=True)
    with lock:
        if "ignore_key" not in BUGS and key in keys:
            stored_fingerprint, stored = keys[key]
            if stored_fingerprint != fingerprint:
                raise HTTPException(409, "key used with another body")
            return JSONResponse(
                stored,
                status_code=201,
                headers={"Idempotent-Replayed": "true", "Location": f"/items/{stored['id']}"},
            )
        item = {"id": uuid.uuid4().hex[:12], "name": body.name}
        items[item["id"]] = item
        keys[key] = (fingerprint, item)
    ledger.post("/entries", json={"item": item["id"]}).raise_for_status()
    response.headers["Location"] = f"/items/{item['id']}"
    return item


def _read_item(item_id: str) -> ItemOut:
    if item_id not in items:
        raise HTTPException(404, f"no item {item_id}")
    return ItemOut(**items[item_id])


if "skip_auth" in BUGS:
    # The bug: the guard and the scheme are gone from this route (as a hurried edit does).
    @app.get("/items/{item_id}", response_model=ItemOut, responses=_problems(404))
    def read_item(item_id: str) -> ItemOut:
        return _read_item(item_id)
else:

    @app.get(
        "/items/{item_id}",
        response_model=ItemOut,
        responses=_problems(401, 404),
        dependencies=[Depends(authenticated)],
    )
    def read_item(item_id: str) -> ItemOut:
        return _read_item(item_id)


@app.delete(
    "/items/{item_id}",
    status_code=204,
    response_class=Response,
    responses=_problems(401, 403, 404),
    dependencies=[Depends(admin)],
)
def delete_item(item_id: str) -> Response:
    _read_item(item_id)
    del items[item_id]
    return Response(status_code=204)


@app.get("/stats", response_model=Stats, responses=_problems(401))
def stats(credentials: Credentials, x_trace: Annotated[str | None, Header()] = None) -> Stats:
    if "backend_before_auth" in BUGS:
        ledger.get("/entries").raise_for_status()  # the bug: a backend call before the check
    _claims(credentials)
    return Stats(items=len(items))


@app.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/readyz", include_in_schema=False)
def readyz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
