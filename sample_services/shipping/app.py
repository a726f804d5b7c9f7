"""The shipping service: shipments made from orders' events, served over HTTP."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from sample_services.common.app import (
    Lifecycle,
    create_service_app,
    handle_database_outages,
    mount_test_hooks,
)
from sample_services.common.broker import Streams
from sample_services.common.db import Database
from sample_services.common.metrics import ServiceMetrics
from sample_services.common.tracing import make_tracer
from sample_services.shipping import provider_states
from sample_services.shipping.consumer import EventConsumer
from sample_services.shipping.models import Base
from sample_services.shipping.routes import build_router
from sample_services.shipping.settings import ShippingSettings

SERVICE = "shipping"


def create_app(
    settings: ShippingSettings | None = None,
    *,
    http: Mapping[str, httpx.Client] | None = None,
) -> FastAPI:
    """`http` is accepted for the fleet-wide factory signature; shipping calls no one."""
    del http
    settings = settings or ShippingSettings()
    db = Database(settings.resolved_database_url(SERVICE), Base)
    broker = Streams(settings.broker_url, timeout=settings.broker_timeout)
    metrics = ServiceMetrics(SERVICE)
    consumer = EventConsumer(db, broker, settings, metrics)
    app = create_service_app(
        SERVICE,
        settings,
        readiness={"database": db.ping, "broker": broker.ping},
        metrics=metrics,
        tracer=make_tracer(SERVICE),
        # Run in reverse: the consumer stops before its connections close.
        lifecycle=Lifecycle(
            on_start=[db.create_schema, consumer.start],
            on_stop=[db.dispose, broker.close, consumer.stop],
        ),
    )
    app.state.db = db
    app.state.consumer = consumer
    handle_database_outages(app)
    app.include_router(build_router(db))
    mount_test_hooks(app, settings, reset=db.truncate, states=provider_states.states(db))
    return app
