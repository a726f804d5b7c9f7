"""The payments service: accounts and payments on its own database."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from sample_services.common.assembly import create_database_app
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
    return create_database_app(
        SERVICE, settings, Base, router=build_router, states=provider_states.states
    )
