"""A client's manners towards a rate-limited entry: a pace, and Retry-After honoured.

A harness that probes a fleet faster than the fleet's own rate limit allows measures its
own impatience, not the fault under test: on an idle machine a probe workload sends its
requests back to back and a per-client limit answers 429. Two remedies, both a client's:
a declared pace (at most ``rate`` requests per second across every thread sending for one
workload) and a bounded wait on a 429's Retry-After (the fleet's own word on when to come
back). A 503's Retry-After is never waited out: it is the answer a fault cell judges.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Pacer", "retry_after_seconds"]


class Pacer:
    """At most one request per ``1 / rate`` seconds, whoever sends it (thread-safe).

    A slot is claimed under the lock and waited for outside it, so two threads never get
    the same slot and neither holds the lock while it sleeps.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("a pace needs a rate above 0 requests per second")
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")
        self._lock = threading.Lock()
        self.waited_s = 0.0  # time spent keeping the pace, for the report

    def wait(self) -> float:
        """Block until this caller's slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
            delay = slot - now
            self.waited_s += delay
        if delay > 0:
            self._sleep(delay)
        return delay


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date, RFC 9110
    10.2.3); None when absent or unreadable (then nothing is waited for)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
