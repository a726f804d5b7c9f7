"""payments against its own PostgreSQL container, its database edge through Toxiproxy."""

from __future__ import annotations

import uuid

import httpx
import pytest

from harness.fleet.lifecycle import Fleet
from sample_services.payments.models import Base
from tests.component import checks

pytestmark = [pytest.mark.component, pytest.mark.docker, pytest.mark.slow]

SERVICE = "payments"


@pytest.fixture(scope="module")
def payments(component: object) -> Fleet:
    fleet: Fleet = component(SERVICE)  # type: ignore[operator]
    return fleet


def test_schema_from_empty_then_a_restart_keeps_the_data(payments: Fleet) -> None:
    checks.tables_created(payments, SERVICE, Base.metadata.tables)
    account = f"acct-{uuid.uuid4().hex[:8]}"
    url = payments.url(SERVICE)
    assert httpx.put(f"{url}/accounts/{account}", json={"balance_cents": 500}).status_code == 200
    checks.restart(payments, SERVICE)
    assert httpx.get(f"{url}/accounts/{account}").json()["balance_cents"] == 500


def test_concurrent_duplicate_charges_charge_once(payments: Fleet) -> None:
    url = payments.url(SERVICE)
    account, key = f"acct-{uuid.uuid4().hex[:8]}", f"key-{uuid.uuid4().hex}"
    assert httpx.put(f"{url}/accounts/{account}", json={"balance_cents": 1000}).status_code == 200
    body = {"order_id": f"order-{key}", "account_id": account, "amount_cents": 300}
    answers = checks.concurrently(
        8,
        lambda: httpx.post(
            f"{url}/payments", json=body, headers={"Idempotency-Key": key}, timeout=30
        ),
    )
    codes = sorted(a.status_code for a in answers)
    assert set(codes) == {201}, codes
    assert len({a.json()["payment_id"] for a in answers}) == 1, "every answer is the one charge"
    replayed = [a.headers.get("Idempotent-Replayed") == "true" for a in answers]
    assert replayed.count(False) == 1, "one request charged, the others replayed it"
    assert httpx.get(f"{url}/accounts/{account}").json()["balance_cents"] == 700
    assert checks.rows(
        payments, SERVICE, "SELECT count(*) FROM payments WHERE account_id = %s", account
    ) == [(1,)]


def test_readyz_follows_the_database_edge_and_healthz_does_not(payments: Fleet) -> None:
    checks.readiness_follows_database(payments, SERVICE)


def test_a_database_slower_than_its_timeouts_fails_requests_within_a_bound(
    payments: Fleet,
) -> None:
    code, seconds = checks.bounded_under_latency(
        payments, SERVICE, "/accounts/unknown", latency_ms=20_000
    )
    assert code == 503, f"answered {code} after {seconds:.1f} s"
    assert seconds < 10.0, f"answered after {seconds:.1f} s"
    checks.wait_until(
        "payments ready again",
        lambda: checks.status(payments, SERVICE, "/readyz") == 200,
        checks.NOTICE_BOUND,
    )
