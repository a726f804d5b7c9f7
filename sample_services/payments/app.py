"""The payments service: accounts and payments on its own database."""

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
from sample_services.common.db import Database
from sample_services.common.metrics import ServiceMetrics
from sample_services.common.tracing import make_tracer
from sample_services.payments import provider_states
from sample_services.payments.models import Base
from sample_services.payments.routes import build_router
from sample_services.payments.settings import PaymentsSettings

SERVICE = "payments"


def create_app(
    settings: PaymentsSettings | None = None,
    *,
    http: Mapping[str, httpx.Client] | None = None,
) -> FastAPI:
    """`http` is accepted for the fleet-wide factory signature; payments calls no one."""
    del http
    settings = settings or PaymentsSettings()
    db = Database(settings.resolved_database_url(SERVICE), Base)
    app = create_service_app(
        SERVICE,
        settings,
        readiness={"database": db.ping},
        metrics=ServiceMetrics(SERVICE),
        tracer=make_tracer(SERVICE),
        lifecycle=Lifecycle(on_start=[db.create_schema], on_stop=[db.dispose]),
    )
    app.state.db = db
    handle_database_outages(app)
    app.include_router(build_router(db))
    mount_test_hooks(app, settings, reset=db.truncate, states=provider_states.states(db))
    return app
