"""The orders service: accepts orders and runs their checkout saga against its own database."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

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
from sample_services.orders import provider_states
from sample_services.orders.clients import InventoryClient, PaymentsClient, resilient
from sample_services.orders.models import Base
from sample_services.orders.routes import build_router
from sample_services.orders.saga import Saga
from sample_services.orders.settings import OrdersSettings
from sample_services.orders.worker import SagaWorker

SERVICE = "orders"


def create_app(
    settings: OrdersSettings | None = None,
    *,
    http: Mapping[str, httpx.Client] | None = None,
) -> FastAPI:
    """`http` may route "inventory" and "payments" elsewhere (e.g. to an app in-process)."""
    settings = settings or OrdersSettings()
    routes = dict(http or {})
    db = Database(settings.resolved_database_url(SERVICE), Base)
    metrics = ServiceMetrics(SERVICE)
    tracer = make_tracer(SERVICE)
    inventory = InventoryClient(
        resilient(
            "inventory",
            settings.inventory_url,
            settings,
            metrics=metrics,
            tracer=tracer,
            http=routes.get("inventory"),
        )
    )
    payments = PaymentsClient(
        resilient(
            "payments",
            settings.payments_url,
            settings,
            metrics=metrics,
            tracer=tracer,
            http=routes.get("payments"),
        )
    )
    saga = Saga(db, inventory, payments, settings, metrics=metrics, tracer=tracer)
    worker = SagaWorker(
        saga, workers=settings.saga_workers, scan_interval=settings.saga_scan_interval
    )
    app = create_service_app(
        SERVICE,
        settings,
        # Only the database decides readiness. Orders answers POST with 202 and leaves the
        # downstreams to the saga, which rides out their outages (retries, then
        # compensation); an open inventory or payments breaker is visible in /metrics
        # (circuit_breaker_state). Were orders unready whenever a breaker opened, one sick
        # service would take orders, and with it the gateway's checkout, out of rotation
        # too, and readiness would flap with every breaker probe.
        readiness={"database": db.ping},
        metrics=metrics,
        tracer=tracer,
        lifecycle=Lifecycle(
            on_start=[
                partial(db.create_schema, wait=settings.database_start_timeout),
                worker.start,
            ],
            # Run in reverse: the worker stops before the clients and the database go.
            on_stop=[db.dispose, inventory.close, payments.close, worker.stop],
        ),
    )
    app.state.db = db
    app.state.saga = saga
    app.state.worker = worker
    handle_database_outages(app)
    app.include_router(build_router(db, saga, worker))

    def reset() -> None:
        worker.release_holds()
        db.truncate()

    mount_test_hooks(app, settings, reset=reset, states=provider_states.states(db, worker))
    return app
