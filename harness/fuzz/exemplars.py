"""Requests a service answered 2xx while it was fuzzed: what the conformance checks replay.

The auth check sends them again with bad tokens, so that the same request with a good
token is known to succeed (a resource the stateful phase created, not a generated id that
answers 404 with or without a token); the idempotency check replays them with fresh keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Kept per operation: the latest ones (the stateful phase runs last, on live resources).
KEEP = 8
# Headers the checks set themselves, or that a replay must not copy.
_DROPPED = {
    "authorization",
    "content-length",
    "host",
    "user-agent",
    "accept-encoding",
    "connection",
}


@dataclass(frozen=True)
class Exemplar:
    operation: str  # "GET /api/orders/{order_id}"
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    status: int
    location: str | None = None  # the resource a 201 answer created, if it says where

    def json_body(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def clean_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    kept = {}
    for name, value in headers.items():
        if name.lower() in _DROPPED:
            continue
        kept[name] = value[0] if isinstance(value, list | tuple) and value else str(value)
    return kept


@dataclass
class Exemplars:
    """Per operation, the latest requests answered 2xx."""

    by_operation: dict[str, list[Exemplar]] = field(default_factory=dict)

    def add(self, exemplar: Exemplar) -> None:
        kept = self.by_operation.setdefault(exemplar.operation, [])
        kept.append(exemplar)
        del kept[:-KEEP]

    def extend(self, exemplars: Iterable[Exemplar]) -> None:
        for exemplar in exemplars:
            self.add(exemplar)

    def locations(self) -> list[str]:
        """Where created resources are (Location headers), newest first."""
        found = [e.location for kept in self.by_operation.values() for e in kept if e.location]
        return list(reversed(found))

    def of(self, operation: str) -> list[Exemplar]:
        """Newest first."""
        return list(reversed(self.by_operation.get(operation, [])))
