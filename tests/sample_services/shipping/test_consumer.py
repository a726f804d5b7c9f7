"""The shipping consumer: inbox dedup, ordering, claiming, outages, and its HTTP surface."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from sample_services.common.broker import Streams
from sample_services.shipping import consumer as consumer_module
from sample_services.shipping import inbox
from sample_services.shipping.app import create_app
from sample_services.shipping.consumer import GROUP, STREAM
from sample_services.shipping.inbox import OrderEvent, Receipt
from sample_services.shipping.models import InboxEntry
from tests.sample_services.conftest import eventually
from tests.sample_services.orders.conftest import closed_port, sqlite_only
from tests.sample_services.shipping.conftest import (
    cancelled,
    confirmed,
    pending,
    publish,
    shipping_settings,
)


@pytest.fixture
def shipping_app(database_url: str, redis_url: str) -> FastAPI:
    return create_app(shipping_settings(database_url, redis_url))


@pytest.fixture
def shipping(shipping_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(shipping_app) as client:
        yield client


def _status(client: TestClient, order_id: str) -> str | None:
    response = client.get(f"/shipments/{order_id}")
    return response.json()["status"] if response.status_code == 200 else None


def _inbox(app: FastAPI) -> int:
    with app.state.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(InboxEntry)) or 0)


@sqlite_only
def test_events_published_before_the_group_existed_are_consumed(
    broker: Streams, shipping_app: FastAPI
) -> None:
    publish(broker, confirmed("O-1"))

    with TestClient(shipping_app) as client:
        eventually(lambda: _status(client, "O-1") == "CREATED")
        body = client.get("/shipments/O-1").json()
        assert set(body) == {"order_id", "shipment_id", "status"}
        assert client.get("/shipments/O-404").status_code == 404
        eventually(lambda: pending(broker) == 0)


def test_a_duplicate_event_id_is_applied_once_and_acknowledged(
    broker: Streams, shipping: TestClient, shipping_app: FastAPI
) -> None:
    event = confirmed("O-1")
    publish(broker, event)
    eventually(lambda: _status(shipping, "O-1") == "CREATED")
    first = shipping.get("/shipments/O-1").json()

    publish(broker, event, cancelled("O-2"))

    eventually(lambda: _status(shipping, "O-2") == "CANCELLED")
    eventually(lambda: pending(broker) == 0)
    assert shipping.get("/shipments/O-1").json() == first
    assert _inbox(shipping_app) == 2
    metrics = shipping.get("/metrics").text
    assert 'shipping_events_total{outcome="duplicate"} 1.0' in metrics
    assert 'shipping_events_total{outcome="applied"} 2.0' in metrics


def test_a_cancellation_wins_whatever_the_order_of_arrival(
    broker: Streams, shipping: TestClient
) -> None:
    publish(broker, confirmed("O-1"), cancelled("O-1"), cancelled("O-2"), confirmed("O-2"))

    eventually(lambda: pending(broker) == 0 and _status(shipping, "O-2") is not None)
    assert _status(shipping, "O-1") == "CANCELLED"
    assert _status(shipping, "O-2") == "CANCELLED"


@sqlite_only
def test_an_entry_a_dead_consumer_never_acknowledged_is_claimed(
    broker: Streams, shipping_app: FastAPI
) -> None:
    broker.ensure_group(STREAM, GROUP)
    publish(broker, confirmed("O-1"))
    [taken] = broker.read_group(STREAM, GROUP, "dead-consumer", count=10)
    assert pending(broker) == 1  # delivered to a consumer that now dies without acking

    with TestClient(shipping_app) as client:
        eventually(lambda: _status(client, "O-1") == "CREATED")
        eventually(lambda: pending(broker) == 0)
        assert "shipping_claimed_total 1.0" in client.get("/metrics").text
    assert taken.fields is not None


@sqlite_only
def test_a_malformed_entry_is_acknowledged_and_does_not_block_the_next(
    broker: Streams, shipping: TestClient
) -> None:
    publish(
        broker,
        {"event_id": "e-1", "type": "OrderConfirmed", "data": "{not json"},
        {"type": "OrderConfirmed", "data": "{}"},
        confirmed("O-1"),
    )

    eventually(lambda: _status(shipping, "O-1") == "CREATED")
    eventually(lambda: pending(broker) == 0)
    assert 'shipping_events_total{outcome="malformed"} 2.0' in shipping.get("/metrics").text


@sqlite_only
def test_an_entry_whose_apply_failed_is_not_acknowledged_and_is_applied_later(
    broker: Streams, shipping: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = inbox.receive
    failures = iter([OperationalError("INSERT", {}, Exception("database went away"))])

    def flaky(db: Any, event: OrderEvent) -> Receipt:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(db, event)

    monkeypatch.setattr(consumer_module, "receive", flaky)
    publish(broker, confirmed("O-1"))

    eventually(lambda: _status(shipping, "O-1") == "CREATED")
    eventually(lambda: pending(broker) == 0)
    assert next(failures, None) is None
    assert "shipping_consumer_failures_total 1.0" in shipping.get("/metrics").text


def test_a_broker_outage_leaves_the_process_alive_and_unready(tmp_path: Path) -> None:
    settings = shipping_settings(
        f"sqlite:///{tmp_path / 'shipping.db'}", f"redis://127.0.0.1:{closed_port()}/0"
    )
    app = create_app(settings)

    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "ok"
        assert ready.json()["checks"]["broker"].startswith("error")

        def failed_twice() -> bool:
            text = client.get("/metrics").text
            line = next(
                ln for ln in text.splitlines() if ln.startswith("shipping_consumer_failures_total ")
            )
            return float(line.split()[1]) >= 2

        eventually(failed_twice)
        assert app.state.consumer._thread.is_alive()
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 3


@sqlite_only
def test_ready_when_database_and_broker_answer(shipping: TestClient) -> None:
    response = shipping.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_provider_states_and_reset(tmp_path: Path, redis_url: str) -> None:
    settings = shipping_settings(
        f"sqlite:///{tmp_path / 'shipping.db'}", redis_url, enable_test_hooks=True
    )
    with TestClient(create_app(settings)) as client:

        def state(name: str, **params: Any) -> None:
            response = client.post("/_test/provider-states", json={"state": name, "params": params})
            assert response.status_code == 200, response.text

        state("shipment for order {order_id} is CREATED", order_id="O-1")
        state("shipment for order {order_id} is CANCELLED", order_id="O-2")
        assert _status(client, "O-1") == "CREATED"
        assert _status(client, "O-2") == "CANCELLED"
        state("no shipment for order {order_id}", order_id="O-1")
        assert _status(client, "O-1") is None
        assert client.post("/_test/reset").status_code == 200
        assert _status(client, "O-2") is None
        schema = client.get("/openapi.json").json()
        assert not [p for p in schema["paths"] if p.startswith("/_test")]
        assert {"200", "404"} <= set(schema["paths"]["/shipments/{order_id}"]["get"]["responses"])


@sqlite_only
def test_a_broker_that_lost_the_stream_gets_the_group_back(
    broker: Streams, shipping: TestClient
) -> None:
    publish(broker, confirmed("O-1"))
    eventually(lambda: _status(shipping, "O-1") == "CREATED")

    broker.client.delete(STREAM)  # e.g. the broker restarted without persistence
    eventually(lambda: pending(broker) == -1)
    publish(broker, confirmed("O-2"))

    eventually(lambda: _status(shipping, "O-2") == "CREATED")
