"""Inventory settings: only what every service reads (it calls no other service)."""

from __future__ import annotations

from sample_services.common.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    pass
