"""The relay process: the publishing loop plus /healthz, /readyz and /metrics."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from sample_services.common.app import mount_test_hooks
from sample_services.common.assembly import create_broker_loop_app
from sample_services.common.db import Database
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
    # Orders owns the schema: the relay creates no tables (see relay.publisher).
    app, relay = create_broker_loop_app(SERVICE, settings, db, OutboxRelay, create_schema=False)
    app.state.relay = relay
    # The relay owns no state of its own: orders' reset empties the outbox it reads.
    mount_test_hooks(app, settings, reset=lambda: None)
    return app
