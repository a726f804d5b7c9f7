"""The inventory service: stock levels and reservations on its own database."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from sample_services.common.assembly import create_database_app
from sample_services.inventory import provider_states
from sample_services.inventory.models import Base
from sample_services.inventory.routes import build_router
from sample_services.inventory.settings import InventorySettings

SERVICE = "inventory"


def create_app(
    settings: InventorySettings | None = None,
    *,
    http: Mapping[str, httpx.Client] | None = None,
) -> FastAPI:
    """`http` is accepted for the fleet-wide factory signature; inventory calls no one."""
    del http
    settings = settings or InventorySettings()
    return create_database_app(
        SERVICE, settings, Base, router=build_router, states=provider_states.states
    )
