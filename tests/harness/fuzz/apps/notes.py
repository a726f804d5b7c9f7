"""A purpose-built service to fuzz: clean, or with bugs switched on by ``BUGS``.

``BUGS`` (comma-separated): ``server_error`` (POST /notes with priority 10 divides by
zero: a 500), ``use_after_free`` (DELETE answers 204 and keeps the note),
``ignored_auth`` (GET /notes/{id} declares the bearer scheme and ignores it).
Run: ``PORT=8000 python -m tests.harness.fuzz.apps.notes``.
"""

from __future__ import annotations

import os
import uuid
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

BUGS = {bug for bug in os.environ.get("BUGS", "").split(",") if bug}
TOKEN = "notes-secret-token"

app = FastAPI(title="notes", version="1.0.0")
bearer = HTTPBearer(auto_error=False)
notes: dict[str, dict[str, Any]] = {}
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


class Problem(BaseModel):
    detail: str


class TokenIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    client_id: str = Field(min_length=1, max_length=40)


class TokenOut(BaseModel):
    access_token: str


def _integral(value: object) -> object:
    # JSON Schema's "integer" includes 3.0; strict mode alone would refuse it (422).
    return int(value) if type(value) is float and value.is_integer() else value


class NoteIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    text: str = Field(min_length=1, max_length=40)
    priority: Annotated[int, BeforeValidator(_integral)] = Field(ge=0, le=10)


class NoteOut(BaseModel):
    id: str
    text: str
    priority: int


UNAUTHORIZED = {401: {"model": Problem, "description": "Missing or wrong token"}}
UNDECODABLE = {400: {"model": Problem, "description": "The body is not JSON"}}
NOT_FOUND = {404: {"model": Problem, "description": "No such note"}}
# Every method each path serves: Starlette's 405 names only the first route's.
ALLOW = {"/notes": "POST", "/auth/token": "POST"}


def authenticated(credentials: Credentials) -> None:
    if credentials is None or credentials.credentials != TOKEN:
        raise HTTPException(401, "missing or wrong token", headers={"WWW-Authenticate": "Bearer"})


def authenticated_unless_buggy(credentials: Credentials) -> None:
    if "ignored_auth" in BUGS:
        return  # the bug: the route declares the scheme (see the OpenAPI) and skips the check
    authenticated(credentials)


@app.exception_handler(StarletteHTTPException)
async def problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        path = request.url.path
        headers["Allow"] = ALLOW.get(path, "GET, DELETE" if path.startswith("/notes/") else "")
    return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=headers)


@app.post("/auth/token", response_model=TokenOut, responses={**UNDECODABLE})
def issue_token(body: TokenIn) -> TokenOut:
    return TokenOut(access_token=TOKEN)


@app.post(
    "/notes",
    status_code=201,
    response_model=NoteOut,
    responses={**UNAUTHORIZED, **UNDECODABLE},
    dependencies=[Depends(authenticated)],
)
def create_note(body: NoteIn, response: Response) -> NoteOut:
    if "server_error" in BUGS:
        # The bug: a boundary value the schema allows crashes the handler.
        body.priority = body.priority // (10 - body.priority)
    note = NoteOut(id=uuid.uuid4().hex[:12], text=body.text, priority=body.priority)
    notes[note.id] = note.model_dump()
    response.headers["Location"] = f"/notes/{note.id}"
    return note


@app.get(
    "/notes/{note_id}",
    response_model=NoteOut,
    responses={**UNAUTHORIZED, **NOT_FOUND},
    dependencies=[Depends(authenticated_unless_buggy)],
)
def read_note(note_id: str) -> NoteOut:
    if note_id not in notes:
        raise HTTPException(404, f"no note {note_id}")
    return NoteOut(**notes[note_id])


@app.delete(
    "/notes/{note_id}",
    status_code=204,
    response_class=Response,
    responses={**UNAUTHORIZED, **NOT_FOUND},
    dependencies=[Depends(authenticated)],
)
def delete_note(note_id: str) -> Response:
    if note_id not in notes:
        raise HTTPException(404, f"no note {note_id}")
    if "use_after_free" not in BUGS:
        del notes[note_id]  # the bug keeps it: answered 204, still readable
    return Response(status_code=204)


@app.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/readyz", include_in_schema=False)
def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/_test/reset", include_in_schema=False)
def reset() -> dict[str, str]:
    notes.clear()
    return {"status": "reset"}


if __name__ == "__main__":
    port = int(os.environ["PORT"])
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=port, log_level="warning")
