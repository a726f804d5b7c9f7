"""The outbox relay: once each, in order, at least once across a crash, never killed by outages."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select
from starlette.testclient import TestClient

from sample_services.common.broker import Streams
from sample_services.common.db import Database
from sample_services.common.metrics import ServiceMetrics
from sample_services.orders.events import STREAM
from sample_services.orders.models import Base, OutboxMessage
from sample_services.relay.app import create_app
from sample_services.relay.publisher import OutboxRelay
from sample_services.relay.settings import RelaySettings
from sample_services.shipping.consumer import EventConsumer
from sample_services.shipping.models import Base as ShippingBase
from sample_services.shipping.models import InboxEntry, Shipment
from tests.sample_services.conftest import database_with_schema, eventually
from tests.sample_services.orders.conftest import closed_port, sqlite_only
from tests.sample_services.shipping.conftest import confirmed, pending, shipping_settings


@pytest.fixture
def orders_db(database_url: str) -> Iterator[Database]:
    yield from database_with_schema(database_url, Base)


def _settings(database_url: str, broker_url: str, **overrides: Any) -> RelaySettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "broker_url": broker_url,
        "broker_timeout": 0.5,
        "relay_poll_interval": 0.02,
        "relay_backoff_cap": 0.1,
    }
    values.update(overrides)
    return RelaySettings(**values)


@pytest.fixture
def relay(database_url: str, redis_url: str, orders_db: Database) -> Iterator[OutboxRelay]:
    broker = Streams(redis_url, timeout=0.5)
    yield OutboxRelay(orders_db, broker, _settings(database_url, redis_url), ServiceMetrics("r"))
    broker.close()


def _add_events(db: Database, count: int, prefix: str = "O") -> list[str]:
    with db.session() as session:
        rows = [OutboxMessage.of(confirmed(f"{prefix}-{i}"), f"{prefix}-{i}") for i in range(count)]
        session.add_all(rows)
    return [row.event_id for row in rows]


def _unpublished(db: Database) -> int:
    with db.session() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.published_at.is_(None)))
        return len(list(rows))


def test_each_row_is_published_once_in_id_order_and_marked(
    relay: OutboxRelay, orders_db: Database, broker: Streams
) -> None:
    event_ids = _add_events(orders_db, 3)

    assert relay.publish_batch() == 3
    assert relay.publish_batch() == 0

    entries = broker.entries(STREAM)
    assert [e.fields["event_id"] for e in entries if e.fields] == event_ids
    with orders_db.session() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [e.fields for e in entries] == [row.stream_fields() for row in rows]
    assert all(row.published_at is not None for row in rows)


@sqlite_only
def test_a_batch_is_bounded(database_url: str, redis_url: str, orders_db: Database) -> None:
    _add_events(orders_db, 3)
    broker = Streams(redis_url)
    small = OutboxRelay(
        orders_db,
        broker,
        _settings(database_url, redis_url, relay_batch_size=2),
        ServiceMetrics("r"),
    )

    assert [small.publish_batch(), small.publish_batch(), small.publish_batch()] == [2, 1, 0]
    broker.close()


def test_a_crash_between_xadd_and_mark_republishes_and_the_inbox_applies_once(
    relay: OutboxRelay,
    orders_db: Database,
    broker: Streams,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    tmp_path: Path,
) -> None:
    _add_events(orders_db, 3)
    with monkeypatch.context() as patch:

        def crash(*_args: object) -> None:
            raise RuntimeError("relay died after XADD, before marking the rows")

        patch.setattr(relay, "mark", crash)
        with pytest.raises(RuntimeError, match="before marking"):
            relay.publish_batch()
    assert broker.length(STREAM) == 3
    assert _unpublished(orders_db) == 3

    assert relay.publish_batch() == 3
    assert broker.length(STREAM) == 6  # at least once: every event went out twice
    assert _unpublished(orders_db) == 0

    shipping_db = Database(f"sqlite:///{tmp_path / 'shipping.db'}", ShippingBase)
    shipping_db.create_schema()
    consumer = EventConsumer(
        shipping_db, broker, shipping_settings("", redis_url), ServiceMetrics("s")
    )
    while consumer.poll():
        pass
    with shipping_db.session() as session:
        assert len(list(session.scalars(select(InboxEntry)))) == 3
        assert len(list(session.scalars(select(Shipment)))) == 3
    assert pending(broker) == 0
    shipping_db.dispose()


@sqlite_only
def test_the_running_relay_publishes_and_reports_lag(
    database_url: str, redis_url: str, orders_db: Database, broker: Streams
) -> None:
    app = create_app(_settings(database_url, redis_url))
    with TestClient(app) as client:
        _add_events(orders_db, 4)

        eventually(lambda: broker.length(STREAM) == 4)
        eventually(lambda: "relay_outbox_lag 0.0" in client.get("/metrics").text)
        assert "relay_published_total 4.0" in client.get("/metrics").text
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


@sqlite_only
def test_the_relay_rides_out_a_broker_outage_and_catches_up(
    database_url: str, redis_url: str, orders_db: Database, broker: Streams
) -> None:
    app = create_app(_settings(database_url, f"redis://127.0.0.1:{closed_port()}/0"))
    _add_events(orders_db, 2)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz").json()
        assert ready["checks"]["broker"].startswith("error")
        assert ready["checks"]["database"] == "ok"
        eventually(lambda: _failures(client) >= 2)
        assert _unpublished(orders_db) == 2

        relay: OutboxRelay = app.state.relay
        relay.broker = broker  # the broker is back
        eventually(lambda: _unpublished(orders_db) == 0)
        assert broker.length(STREAM) == 2
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 3


def test_the_relay_rides_out_a_database_outage(redis_url: str) -> None:
    down = f"postgresql://nobody@127.0.0.1:{closed_port()}/orders"
    app = create_app(_settings(down, redis_url))
    with TestClient(app) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["broker"] == "ok"
        eventually(lambda: _failures(client) >= 2)
        assert client.get("/healthz").status_code == 200


def test_two_relays_never_send_one_row_twice_at_once(
    database_url: str, redis_url: str, orders_db: Database, broker: Streams
) -> None:
    event_ids = _add_events(orders_db, 120)
    settings = _settings(database_url, redis_url, relay_batch_size=10)
    relays = [
        OutboxRelay(orders_db, Streams(redis_url), settings, ServiceMetrics(f"r{i}"))
        for i in range(2)
    ]
    start = threading.Barrier(2)

    def drain(relay: OutboxRelay) -> None:
        start.wait(timeout=5)
        while relay.publish_batch():
            pass

    threads = [threading.Thread(target=drain, args=(r,)) for r in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    sent = [e.fields["event_id"] for e in broker.entries(STREAM) if e.fields]
    assert set(sent) == set(event_ids)
    assert _unpublished(orders_db) == 0
    if orders_db.dialect == "postgresql":
        # FOR UPDATE SKIP LOCKED: the relays split the rows between them.
        assert len(sent) == len(event_ids)
    for relay in relays:
        relay.broker.close()


def _failures(client: TestClient) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("relay_failures_total "):
            return float(line.split()[1])
    return 0.0


def test_the_broker_wrapper_surfaces_outages_as_redis_errors() -> None:
    streams = Streams(f"redis://127.0.0.1:{closed_port()}/0", timeout=0.2)
    with pytest.raises(redis.ConnectionError):
        streams.ping()
    streams.close()
