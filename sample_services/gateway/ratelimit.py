"""Per-client token buckets, in memory (one gateway process; no shared state needed).

pyrate-limiter's TokenBucket (GCRA) does the arithmetic and gives the exact wait in
closed form; this module only keeps one state store per client and an injectable clock.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from pyrate_limiter import Decision, InMemoryStateStore, Rate, StateStore, TokenBucket

Clock = Callable[[], float]
"""Seconds on a monotonic scale."""


class RateLimiter:
    def __init__(
        self,
        rps: float,
        burst: int,
        *,
        clock: Clock = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        if rps <= 0 or burst < 1:
            raise ValueError("rate limit needs rps > 0 and burst >= 1")
        # GCRA reads the emission interval as interval/limit; a large `limit` keeps a
        # fractional rate (e.g. 0.5 rps) exact at millisecond resolution.
        self._rates = [Rate(limit=1000, interval=max(1, round(1_000_000 / rps)), burst=burst)]
        self._algorithm = TokenBucket()
        self._clock = clock
        self._max_clients = max_clients
        self._stores: dict[str, StateStore] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """Take one token for `client`: None when admitted, else whole seconds to wait (>= 1)."""
        now_ms = int(self._clock() * 1000)
        decision = self._store(client, now_ms).check(self._algorithm, self._rates, now_ms, 1)
        if not isinstance(decision, Decision):  # only async stores answer with an awaitable
            raise TypeError("the in-memory state store answered asynchronously")
        if decision.allowed:
            return None
        wait_ms = decision.retry_after_ms if decision.retry_after_ms is not None else 1000
        return max(1, math.ceil(wait_ms / 1000))

    def _store(self, client: str, now_ms: int) -> StateStore:
        with self._lock:
            store = self._stores.get(client)
            if store is None:
                if len(self._stores) >= self._max_clients:
                    self._evict(now_ms)
                store = self._stores[client] = InMemoryStateStore()
            return store

    def _evict(self, now_ms: int) -> None:
        """Forget clients whose bucket is full again: a fresh bucket behaves the same."""
        idle = [
            name
            for name, store in self._stores.items()
            if self._algorithm.consumed(self._rates, self._read(store), now_ms) == 0
        ]
        for name in idle:
            del self._stores[name]
        # Everyone is mid-burst: drop the oldest rather than grow without bound.
        while len(self._stores) >= self._max_clients:
            del self._stores[next(iter(self._stores))]

    def _read(self, store: StateStore) -> tuple[float, ...]:
        state = store.read(self._algorithm, self._rates)
        if not isinstance(state, tuple):
            raise TypeError("the in-memory state store answered asynchronously")
        return state

    def reset(self) -> None:
        """Forget every bucket (test hook: one scenario's traffic must not limit the next)."""
        with self._lock:
            self._stores.clear()

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._stores)
