"""An inventory app per test, on SQLite and on PostgreSQL (through `database_url`)."""

from __future__ import annotations

from tests.sample_services.conftest import INVENTORY

(
    _service_app,
    _hooked_service_client,
    inventory_app,
    inventory,
    hooked_inventory,
    unhooked_inventory,
) = INVENTORY.fixtures()
