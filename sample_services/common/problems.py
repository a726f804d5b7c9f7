"""Problem responses: one error shape for every service, documented in the OpenAPI."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel


class Problem(BaseModel):
    detail: str
    code: str


class ProblemError(HTTPException):
    """Raised by handlers; rendered as a Problem with the given status."""

    def __init__(
        self, status_code: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.code = code


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, invalid or expired token",
    402: "Insufficient funds",
    403: "Token lacks the required scope",
    404: "Not found",
    409: "Conflict",
    422: "Validation error",
    429: "Rate limited",
    503: "A dependency is unavailable",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` argument documenting each error status with the Problem model."""
    return {s: {"model": Problem, "description": _DESCRIPTIONS.get(s, "Error")} for s in statuses}
