"""Idempotency keys: the same key and body replay the stored response, one side effect."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from sample_services.common.db import Database
from sample_services.common.problems import ProblemError

MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"


class IdempotencyRecordMixin:
    """Mixed into each service's own declarative base: the table lives in its database."""

    __tablename__ = "idempotency_keys"

    if TYPE_CHECKING:  # the declarative base supplies the real keyword constructor

        def __init__(self, **fields: Any) -> None: ...

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(UTC)
    )


def key_parameter(description: str) -> dict[str, Any]:
    """The OpenAPI entry of a required Idempotency-Key header that the route reads by hand
    (`required_key`), so that a missing key is the documented 400 rather than a 422."""
    return {
        "name": HEADER,
        "in": "header",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    }


def required_key(request: Request, route: str) -> str:
    """The request's Idempotency-Key; a missing or overlong one is a 400 naming `route`."""
    key = request.headers.get(HEADER)
    if not key:
        raise ProblemError(
            400, "missing_idempotency_key", f"{route} needs an Idempotency-Key header"
        )
    if len(key) > MAX_KEY_LENGTH:
        raise ProblemError(
            400,
            "invalid_idempotency_key",
            f"an Idempotency-Key has at most {MAX_KEY_LENGTH} characters",
        )
    return key


def fingerprint(payload: Any) -> str:
    """A stable hash of a request body: key order and whitespace do not matter."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool


class IdempotencyStore:
    def __init__(self, db: Database, record: type[IdempotencyRecordMixin]) -> None:
        self.db = db
        self.record = record

    def execute(
        self,
        key: str,
        payload: Any,
        action: Callable[[Session], tuple[int, dict[str, Any]]],
    ) -> Outcome:
        """Run `action` once per key, in the same transaction that stores its response.

        A concurrent twin with the same key loses the primary-key race, rolls back its own
        side effects with its transaction, and replays the winner's response.
        """
        fp = fingerprint(payload)
        for _ in range(3):
            try:
                with self.db.session() as session:
                    stored = session.get(self.record, key)
                    if stored is not None:
                        return self._replay(stored, fp)
                    status, body = action(session)
                    if status < 500:
                        session.add(
                            self.record(
                                key=key,
                                fingerprint=fp,
                                status_code=status,
                                body=json.dumps(body),
                            )
                        )
                        session.flush()
                    return Outcome(status, body, replayed=False)
            except IntegrityError:
                continue
        raise ProblemError(409, "idempotency_conflict", "concurrent requests with this key")

    @staticmethod
    def _replay(stored: IdempotencyRecordMixin, fp: str) -> Outcome:
        if stored.fingerprint != fp:
            raise ProblemError(
                409,
                "idempotency_conflict",
                "this Idempotency-Key was used with a different request body",
            )
        return Outcome(stored.status_code, json.loads(stored.body), replayed=True)
