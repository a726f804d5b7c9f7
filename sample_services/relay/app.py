"""The relay process: the publishing loop plus /healthz, /readyz and /metrics."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from sample_services.common.app import Lifecycle, create_service_app, mount_test_hooks
from sample_services.common.broker import Streams
from sample_services.common.db import Database
from sample_services.common.metrics import ServiceMetrics
from sample_services.common.tracing import make_tracer
from sample_services.orders.models import Base
from sample_services.relay.publisher import OutboxRelay
from sample_services.relay.settings import DATABASE_OWNER, RelaySettings

SERVICE = "relay"


def create_app(
    settings: RelaySettings | None = None,
    *,
    http: Mapping[str, httpx.Client] | None = None,
) -> FastAPI:
    """`http` is accepted for the fleet-wide factory signature; the relay calls no one."""
    del http
    settings = settings or RelaySettings()
    db = Database(settings.resolved_database_url(DATABASE_OWNER), Base)
    broker = Streams(settings.broker_url, timeout=settings.broker_timeout)
    metrics = ServiceMetrics(SERVICE)
    relay = OutboxRelay(db, broker, settings, metrics)
    app = create_service_app(
        SERVICE,
        settings,
        readiness={"database": db.ping, "broker": broker.ping},
        metrics=metrics,
        tracer=make_tracer(SERVICE),
        # Run in reverse: the loop stops before its connections close.
        lifecycle=Lifecycle(on_start=[relay.start], on_stop=[db.dispose, broker.close, relay.stop]),
    )
    app.state.db = db
    app.state.relay = relay
    # The relay owns no state of its own: orders' reset empties the outbox it reads.
    mount_test_hooks(app, settings, reset=lambda: None)
    return app
