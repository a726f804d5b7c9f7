"""Stale-if-error for the gateway's reads (RFC 5861's idea, kept in the gateway's memory).

A read the gateway answered once may be answered again from memory when its backend
cannot answer now (its retries spent, its breaker open, or it answers 5xx): the caller
gets the last known value, marked ``X-Degraded: <backend>`` with its ``Age`` in seconds,
instead of a 503. Only within ``stale_if_error`` seconds of the last good answer (older
data is no better than none), and only for reads: a write is never answered from memory.
A 4xx from the backend (not found) is an answer, not an outage: it is relayed as before.

cachetools' TTLCache bounds both the age and the number of entries (least recently used
go first); it is not thread-safe, and FastAPI runs these sync routes in a thread pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from cachetools import TTLCache
from fastapi import Response

from sample_services.common.outbound import DownstreamError

T = TypeVar("T")

AGE_HEADER = "Age"


class StaleCache:
    def __init__(
        self,
        max_age: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: TTLCache[tuple[str, str], tuple[float, object]] | None = (
            TTLCache(maxsize=max_entries, ttl=max_age, timer=clock) if max_age > 0 else None
        )

    def read(
        self,
        backend: str,
        key: str,
        fetch: Callable[[], T],
        response: Response,
        degraded_header: str,
    ) -> T:
        """``fetch()``; remembered on success, answered from memory on an outage."""
        try:
            value = fetch()
        except DownstreamError:
            remembered = self._recall(backend, key)
            if remembered is None:
                raise
            stored_at, stale = remembered
            response.headers[degraded_header] = backend
            response.headers[AGE_HEADER] = str(int(self._clock() - stored_at))
            return stale  # type: ignore[return-value]  # stored by this same read
        if self._entries is not None:
            with self._lock:
                self._entries[(backend, key)] = (self._clock(), value)
        return value

    def _recall(self, backend: str, key: str) -> tuple[float, object] | None:
        if self._entries is None:
            return None
        with self._lock:
            return self._entries.get((backend, key))

    def clear(self) -> None:
        if self._entries is not None:
            with self._lock:
                self._entries.clear()
