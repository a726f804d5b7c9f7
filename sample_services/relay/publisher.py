"""The relay loop: unpublished outbox rows, in id order, XADDed to `orders.events`, marked.

At least once: a row is marked only after the broker has it, so a crash between the XADD
and the mark publishes it again on the next pass, and consumers deduplicate by event_id.
Outages of the database or the broker are waited out with capped exponential backoff;
the loop never ends before stop(). The relay creates no tables: orders owns the schema,
and until orders has created it the relay's passes fail and back off like in an outage
(two processes racing to create one schema could make orders fail its start).
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from sample_services.common.app import detach_context
from sample_services.common.broker import Streams
from sample_services.common.db import Database
from sample_services.common.metrics import ServiceMetrics
from sample_services.orders.events import STREAM
from sample_services.orders.models import OutboxMessage
from sample_services.relay.settings import RelaySettings

log = logging.getLogger("sample_services.relay")


class RelayMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.published = Counter(
            "relay_published_total",
            "Outbox rows published to the broker (a re-publish counts again)",
            registry=metrics.registry,
        )
        self.lag = Gauge(
            "relay_outbox_lag",
            "Outbox rows not yet published",
            registry=metrics.registry,
        )
        self.failures = Counter(
            "relay_failures_total",
            "Passes that failed (database or broker unavailable)",
            registry=metrics.registry,
        )


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        broker: Streams,
        settings: RelaySettings,
        metrics: ServiceMetrics,
        *,
        stream: str = STREAM,
    ) -> None:
        self.db = db
        self.broker = broker
        self.settings = settings
        self.stream = stream
        self.metrics = RelayMetrics(metrics)
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._jitter = random.Random()

    def start(self) -> None:
        if self._thread is not None:
            return
        self.stopping.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(self.settings.broker_timeout * 2 + 5)
            self._thread = None

    def publish_batch(self) -> int:
        """One pass: publish up to a batch of unpublished rows; returns how many."""
        if self.db.dialect == "postgresql":
            sent = self._publish_locked()
        else:
            sent = self._publish_unlocked()
        if sent:
            self.metrics.published.inc(sent)
        return sent

    def unpublished(self) -> int:
        with self.db.session() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.published_at.is_(None))
                )
                or 0
            )

    def _publish_locked(self) -> int:
        # The row locks are held across the XADD, so two relays never send the same row
        # concurrently; SKIP LOCKED lets the second one take the next rows instead of
        # waiting for the first.
        with self.db.session() as session:
            rows = list(session.scalars(self._next_batch().with_for_update(skip_locked=True)))
            if not rows:
                return 0
            self._send(rows)
            self.mark(session, [row.id for row in rows])
        return len(rows)

    def _publish_unlocked(self) -> int:
        # SQLite has one writer at a time: holding its write lock across a broker call
        # would stall every saga in orders for as long as the broker hangs. So read,
        # send, then mark in separate transactions. (Two relays on one SQLite file could
        # send a row twice; consumers deduplicate by event_id.)
        with self.db.session() as session:
            rows = list(session.scalars(self._next_batch()))
        if not rows:
            return 0
        self._send(rows)
        with self.db.session() as session:
            self.mark(session, [row.id for row in rows])
        return len(rows)

    def _next_batch(self) -> Select[OutboxMessage]:
        """The oldest unpublished rows, at most a batch of them."""
        return (
            select(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(self.settings.relay_batch_size)
        )

    def _send(self, rows: list[OutboxMessage]) -> None:
        self.broker.publish(self.stream, [row.stream_fields() for row in rows])

    def mark(self, session: Session, ids: list[int]) -> None:
        """Record the rows as published (after the broker has them)."""
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.published_at.is_(None))
            .values(published_at=datetime.now(UTC))
        )

    def _run(self) -> None:
        detach_context()
        failures = 0
        while not self.stopping.is_set():
            try:
                sent = self.publish_batch()
                self.metrics.lag.set(self.unpublished())
            except Exception as exc:
                failures += 1
                self.metrics.failures.inc()
                ceiling = min(
                    self.settings.relay_backoff_cap,
                    self.settings.relay_poll_interval * 2**failures,
                )
                log.warning(
                    "relay pass failed", extra={"error": f"{type(exc).__name__}: {exc}"[:300]}
                )
                self.stopping.wait(self._jitter.uniform(ceiling / 2, ceiling))
                continue
            failures = 0
            # A full batch means more may be waiting: go again at once.
            if sent < self.settings.relay_batch_size:
                self.stopping.wait(self.settings.relay_poll_interval)
