"""A payments app per test, on SQLite and on PostgreSQL (through `database_url`)."""

from __future__ import annotations

from tests.sample_services.conftest import PAYMENTS

(
    _service_app,
    _hooked_service_client,
    payments_app,
    payments,
    hooked_payments,
    unhooked_payments,
) = PAYMENTS.fixtures()
