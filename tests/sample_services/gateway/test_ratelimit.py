"""Per-client token buckets: 429 with an integer Retry-After, never a backend call, never 5xx."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sample_services.gateway.ratelimit import RateLimiter
from tests.sample_services.gateway.conftest import FakeClock, Fleet, bearer

STOCK = {"sku": "S1", "available": 5, "reserved": 0, "sold": 0, "received": 5}


def test_burst_then_refill_at_the_configured_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rps=2, burst=3, clock=clock)
    assert [limiter.retry_after("a") for _ in range(3)] == [None, None, None]
    assert limiter.retry_after("a") == 1  # 0.5 s to the next token, rounded up to 1
    clock.advance(0.5)
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 1
    clock.advance(1.5)  # three tokens' worth, but the bucket holds only three
    assert [limiter.retry_after("a") for _ in range(4)] == [None, None, None, 1]


def test_retry_after_is_whole_seconds_until_the_next_token() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rps=0.2, burst=1, clock=clock)
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 5
    clock.advance(2.5)
    assert limiter.retry_after("a") == 3  # 2.5 s left, rounded up
    clock.advance(2.5)
    assert limiter.retry_after("a") is None


def test_a_rejected_request_spends_no_token() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rps=1, burst=1, clock=clock)
    assert limiter.retry_after("a") is None
    for _ in range(10):
        assert limiter.retry_after("a") == 1
    clock.advance(1.0)
    assert limiter.retry_after("a") is None


def test_clients_have_separate_buckets() -> None:
    limiter = RateLimiter(rps=1, burst=1, clock=FakeClock())
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 1
    assert limiter.retry_after("b") is None


def test_memory_is_bounded_and_idle_clients_are_forgotten_first() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rps=1, burst=2, clock=clock, max_clients=3)
    limiter.retry_after("busy")
    limiter.retry_after("busy")
    limiter.retry_after("idle-1")
    clock.advance(5)  # idle-1 has refilled; busy too, but make busy spend again
    limiter.retry_after("busy")
    limiter.retry_after("busy")
    limiter.retry_after("idle-2")
    assert limiter.clients == 3
    limiter.retry_after("new")
    assert limiter.clients == 3
    # busy kept its (empty) bucket: evicting it would have handed it a fresh burst.
    assert limiter.retry_after("busy") == 1


@pytest.mark.parametrize(("rps", "burst"), [(0, 1), (1, 0)])
def test_nonsense_limits_are_refused(rps: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        RateLimiter(rps=rps, burst=burst)


@pytest.fixture
def limited(fleet_factory: Callable[..., Fleet]) -> Fleet:
    fleet = fleet_factory(rate_limit_rps=1, rate_limit_burst=2)
    fleet.backends["inventory"].answer("GET", "/stock/S1", 200, STOCK)
    return fleet


def test_over_the_limit_is_429_with_retry_after_and_no_backend_call(limited: Fleet) -> None:
    headers = bearer(client="client-a")
    assert [
        limited.gateway.get("/api/stock/S1", headers=headers).status_code for _ in range(2)
    ] == [
        200,
        200,
    ]
    response = limited.gateway.get("/api/stock/S1", headers=headers)
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit()
    assert int(retry_after) >= 1
    assert len(limited.backends["inventory"].calls) == 2
    assert response.headers["x-request-id"]  # limited responses still carry the request id


def test_the_bucket_refills_with_time(limited: Fleet) -> None:
    headers = bearer(client="client-a")
    for _ in range(2):
        limited.gateway.get("/api/stock/S1", headers=headers)
    assert limited.gateway.get("/api/stock/S1", headers=headers).status_code == 429
    limited.clock.advance(1.0)
    assert limited.gateway.get("/api/stock/S1", headers=headers).status_code == 200


def test_one_client_over_its_limit_does_not_limit_another(limited: Fleet) -> None:
    for _ in range(3):
        limited.gateway.get("/api/stock/S1", headers=bearer(client="noisy"))
    assert limited.gateway.get("/api/stock/S1", headers=bearer(client="quiet")).status_code == 200


def test_limited_is_429_not_5xx_even_when_the_backend_is_down(
    fleet_factory: Callable[..., Fleet],
) -> None:
    # Real URL on a port nobody listens on: every backend call would be a 503.
    fleet = fleet_factory(
        real=("inventory",),
        inventory_url="http://127.0.0.1:9",
        rate_limit_rps=1,
        rate_limit_burst=1,
    )
    headers = bearer(client="client-a")
    assert fleet.gateway.get("/api/stock/S1", headers=headers).status_code == 503
    statuses = {fleet.gateway.get("/api/stock/S1", headers=headers).status_code for _ in range(5)}
    assert statuses == {429}


def test_unauthenticated_requests_do_not_spend_a_clients_tokens(limited: Fleet) -> None:
    for _ in range(5):
        assert limited.gateway.get("/api/stock/S1").status_code == 401
    assert limited.gateway.get("/api/stock/S1", headers=bearer()).status_code == 200


def test_test_hook_reset_empties_the_buckets(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(rate_limit_rps=1, rate_limit_burst=1, enable_test_hooks=True)
    fleet.backends["inventory"].answer("GET", "/stock/S1", 200, STOCK)
    headers = bearer()
    fleet.gateway.get("/api/stock/S1", headers=headers)
    assert fleet.gateway.get("/api/stock/S1", headers=headers).status_code == 429
    assert fleet.gateway.post("/_test/reset").status_code == 200
    assert fleet.gateway.get("/api/stock/S1", headers=headers).status_code == 200
