"""The consumer thread: `orders.events` through consumer group `shipping` into the inbox.

An entry is acknowledged only after its inbox row and effect have committed, so a crash
anywhere leaves it pending; this consumer re-reads its own pending entries after a start
or an error, and periodically claims entries that any consumer (say, a dead one) has left
pending longer than `shipping_claim_idle_ms` (XAUTOCLAIM). Broker and database outages are
waited out with capped exponential backoff; the loop ends only on stop().
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Final

from prometheus_client import Counter

from sample_services.common.app import detach_context
from sample_services.common.broker import StreamMessage, Streams
from sample_services.common.db import Database
from sample_services.common.metrics import ServiceMetrics
from sample_services.shipping.inbox import MalformedEvent, parse_event, receive
from sample_services.shipping.settings import ShippingSettings

log = logging.getLogger("sample_services.shipping.consumer")

STREAM: Final = "orders.events"
GROUP: Final = "shipping"
# One claim pass reads at most this many pages, so a huge backlog cannot starve new reads.
_CLAIM_PAGES = 10


class ConsumerMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.events = Counter(
            "shipping_events_total",
            "Events handled, by outcome (applied, duplicate, malformed)",
            ["outcome"],
            registry=metrics.registry,
        )
        self.claimed = Counter(
            "shipping_claimed_total",
            "Entries taken over from consumers that left them pending",
            registry=metrics.registry,
        )
        self.failures = Counter(
            "shipping_consumer_failures_total",
            "Consumer passes that failed (broker or database unavailable)",
            registry=metrics.registry,
        )


class EventConsumer:
    def __init__(
        self,
        db: Database,
        broker: Streams,
        settings: ShippingSettings,
        metrics: ServiceMetrics,
        *,
        stream: str = STREAM,
        group: str = GROUP,
    ) -> None:
        self.db = db
        self.broker = broker
        self.settings = settings
        self.stream = stream
        self.group = group
        self.name = settings.consumer_name()
        self.metrics = ConsumerMetrics(metrics)
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._group_ready = False
        self._own_backlog = True
        self._next_claim = 0.0
        self._jitter = random.Random()

    def start(self) -> None:
        if self._thread is not None:
            return
        self.stopping.clear()
        self._thread = threading.Thread(target=self._run, name="shipping-consumer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(
                self.settings.shipping_block_ms / 1000 + self.settings.broker_timeout + 5
            )
            self._thread = None

    def poll(self) -> int:
        """One pass: claim stale entries when due, then read and handle one batch.

        Returns how many entries were handled; raises when the broker or the database is
        unavailable (nothing is acknowledged that was not applied).
        """
        if not self._group_ready:
            self.broker.ensure_group(self.stream, self.group)
            self._group_ready = True
        handled = 0
        if time.monotonic() >= self._next_claim:
            handled += self.claim_stale()
            self._next_claim = time.monotonic() + self.settings.shipping_claim_interval
        messages: list[StreamMessage] = []
        if self._own_backlog:
            # Entries delivered to this name before a restart or a failed pass.
            messages = self._read("0", block_ms=None)
            self._own_backlog = bool(messages)
        if not messages:
            messages = self._read(">", block_ms=self.settings.shipping_block_ms)
        for message in messages:
            self.handle(message)
        return handled + len(messages)

    def claim_stale(self) -> int:
        """Take over entries pending longer than the idle threshold, and handle them."""
        cursor, handled = "0-0", 0
        for _ in range(_CLAIM_PAGES):
            cursor, messages = self.broker.autoclaim(
                self.stream,
                self.group,
                self.name,
                min_idle_ms=self.settings.shipping_claim_idle_ms,
                start=cursor,
                count=self.settings.shipping_batch_size,
            )
            if messages:
                self.metrics.claimed.inc(len(messages))
            for message in messages:
                self.handle(message)
            handled += len(messages)
            if cursor == "0-0":
                break
        return handled

    def handle(self, message: StreamMessage) -> None:
        if message.fields is None:
            # Trimmed from the stream while pending: nothing left to apply.
            self.broker.ack(self.stream, self.group, message.message_id)
            return
        try:
            event = parse_event(message.fields)
        except MalformedEvent as exc:
            log.warning(
                "malformed event acknowledged",
                extra={"message_id": message.message_id, "error": str(exc)},
            )
            self.metrics.events.labels("malformed").inc()
            self.broker.ack(self.stream, self.group, message.message_id)
            return
        receipt = receive(self.db, event)
        # Only now: the inbox row and the effect are committed.
        self.broker.ack(self.stream, self.group, message.message_id)
        self.metrics.events.labels(receipt.value).inc()

    def _read(self, start: str, *, block_ms: int | None) -> list[StreamMessage]:
        return self.broker.read_group(
            self.stream,
            self.group,
            self.name,
            start=start,
            count=self.settings.shipping_batch_size,
            block_ms=block_ms,
        )

    def _run(self) -> None:
        detach_context()
        failures = 0
        while not self.stopping.is_set():
            try:
                self.poll()
            except Exception as exc:
                failures += 1
                self.metrics.failures.inc()
                # What was delivered but not applied is pending under this name: read it
                # again first rather than waiting for the idle threshold.
                self._own_backlog = True
                if "NOGROUP" in str(exc):
                    # The stream or the group is gone (say, the broker restarted empty):
                    # make it again from "0", so what was published since is not skipped.
                    self._group_ready = False
                ceiling = min(self.settings.shipping_backoff_cap, 0.1 * 2**failures)
                log.warning(
                    "consumer pass failed",
                    extra={"error": f"{type(exc).__name__}: {exc}"[:300]},
                )
                self.stopping.wait(self._jitter.uniform(ceiling / 2, ceiling))
                continue
            failures = 0
