"""The shipping service: shipments made from orders' events, served over HTTP."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from sample_services.common.assembly import create_broker_loop_app, serve_tables
from sample_services.common.db import Database
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
    app, consumer = create_broker_loop_app(SERVICE, settings, db, EventConsumer, create_schema=True)
    app.state.consumer = consumer
    serve_tables(app, settings, db, router=build_router, states=provider_states.states)
    return app
