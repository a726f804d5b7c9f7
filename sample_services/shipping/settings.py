"""Shipping settings: the broker, who this consumer is, and when to take over others' work."""

from __future__ import annotations

import os
import socket

from pydantic import Field

from sample_services.common.settings import BrokerSettings


class ShippingSettings(BrokerSettings):
    # Unique per process by default, so a restarted process is a new consumer and its
    # predecessor's unacknowledged entries are claimed (XAUTOCLAIM), never silently kept.
    shipping_consumer_name: str = ""
    # How long one XREADGROUP waits for new entries; also bounds how long stop() waits.
    shipping_block_ms: int = Field(default=500, ge=1, le=60_000)
    shipping_batch_size: int = Field(default=50, ge=1, le=1000)
    # Entries pending (delivered, unacknowledged) longer than this are taken over.
    shipping_claim_idle_ms: int = Field(default=30_000, ge=1)
    shipping_claim_interval: float = Field(default=5.0, gt=0)
    shipping_backoff_cap: float = Field(default=5.0, gt=0)

    def consumer_name(self) -> str:
        return self.shipping_consumer_name or f"{socket.gethostname()}-{os.getpid()}"
