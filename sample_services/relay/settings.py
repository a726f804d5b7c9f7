"""Relay settings. DATABASE_URL is the ORDERS database: the relay is part of that context."""

from __future__ import annotations

from pydantic import Field

from sample_services.common.settings import BrokerSettings

# The relay reads orders' database; without DATABASE_URL it finds orders' default file.
DATABASE_OWNER = "orders"


class RelaySettings(BrokerSettings):
    relay_poll_interval: float = Field(default=0.2, gt=0)
    relay_batch_size: int = Field(default=100, ge=1, le=10_000)
    # Longest pause between attempts while the database or the broker is down.
    relay_backoff_cap: float = Field(default=5.0, gt=0)
