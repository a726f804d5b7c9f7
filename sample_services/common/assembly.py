"""App assembly shared by the services that own a database or run a broker loop beside one.

`create_database_app` is a whole service whose only dependency is its own database
(inventory, payments); `create_broker_loop_app` starts a background loop between a
database and the broker (shipping's consumer, the outbox relay); `serve_tables` adds what
every service on its own tables serves (503 on outages, its routes, test hooks that empty
the tables).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Protocol, TypeVar

from fastapi import APIRouter, FastAPI
from sqlalchemy.orm import DeclarativeBase

from sample_services.common.app import (
    Lifecycle,
    create_service_app,
    handle_database_outages,
    mount_test_hooks,
)
from sample_services.common.broker import Streams
from sample_services.common.db import Database
from sample_services.common.metrics import ServiceMetrics
from sample_services.common.settings import BrokerSettings, ServiceSettings
from sample_services.common.tracing import make_tracer

log = logging.getLogger("sample_services.assembly")

StateHandler = Callable[[dict[str, Any]], None]
RouterFactory = Callable[[Database], APIRouter]
StatesFactory = Callable[[Database], Mapping[str, StateHandler]]


class BackgroundLoop(Protocol):
    """A loop that runs in its own thread from start() until stop()."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


LoopT = TypeVar("LoopT", bound=BackgroundLoop)
BrokerSettingsT = TypeVar("BrokerSettingsT", bound=BrokerSettings)


def serve_tables(
    app: FastAPI,
    settings: ServiceSettings,
    db: Database,
    *,
    router: RouterFactory,
    states: StatesFactory,
) -> None:
    """Outages answer 503, the service's routes, and test hooks whose reset empties `db`."""
    handle_database_outages(app)
    app.include_router(router(db))
    mount_test_hooks(app, settings, reset=db.truncate, states=states(db))


def create_database_app(
    service: str,
    settings: ServiceSettings,
    base: type[DeclarativeBase],
    *,
    router: RouterFactory,
    states: StatesFactory,
) -> FastAPI:
    """A service on its own database and nothing else: ready when the database answers,
    the schema made at start and the engine disposed at stop."""
    db = Database(settings.resolved_database_url(service), base)
    app = create_service_app(
        service,
        settings,
        readiness={"database": db.ping},
        metrics=ServiceMetrics(service),
        tracer=make_tracer(service),
        lifecycle=Lifecycle(
            on_start=[partial(db.create_schema, wait=settings.database_start_timeout)],
            on_stop=[db.dispose],
        ),
    )
    app.state.db = db
    serve_tables(app, settings, db, router=router, states=states)
    return app


def create_broker_loop_app(
    service: str,
    settings: BrokerSettingsT,
    db: Database,
    make_loop: Callable[[Database, Streams, BrokerSettingsT, ServiceMetrics], LoopT],
    *,
    create_schema: bool,
) -> tuple[FastAPI, LoopT]:
    """An app running `make_loop(...)` between `db` and the broker for as long as it serves.

    Ready when both the database and the broker answer. With `create_schema` the schema
    is made at start, before the loop starts; without it the database is another
    service's: the start waits (up to DATABASE_START_TIMEOUT) until that service has made
    it, and past that the loop starts anyway and backs off until the tables are there.
    """
    broker = Streams(settings.broker_url, timeout=settings.broker_timeout)
    metrics = ServiceMetrics(service)
    loop = make_loop(db, broker, settings, metrics)
    on_start: list[Callable[[], None]] = []
    if create_schema:
        on_start.append(partial(db.create_schema, wait=settings.database_start_timeout))
    else:
        on_start.append(partial(_await_schema, service, db, settings.database_start_timeout))
    on_start.append(loop.start)
    app = create_service_app(
        service,
        settings,
        readiness={"database": db.ping, "broker": broker.ping},
        metrics=metrics,
        tracer=make_tracer(service),
        # Run in reverse: the loop stops before its connections close.
        lifecycle=Lifecycle(on_start=on_start, on_stop=[db.dispose, broker.close, loop.stop]),
    )
    app.state.db = db
    return app, loop


def _await_schema(service: str, db: Database, wait: float) -> None:
    if not db.wait_for_schema(wait):
        log.warning(
            "%s: the tables it reads are not there after %g s; starting anyway", service, wait
        )
