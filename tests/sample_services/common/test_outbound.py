"""The resilient outbound client against a real HTTP server (and MockTransport for counts)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.trace import format_trace_id
from tenacity import RetryCallState

from sample_services.common import context
from sample_services.common.metrics import ServiceMetrics
from sample_services.common.outbound import DownstreamUnavailable, ResilientClient
from sample_services.common.settings import OutboundSettings
from sample_services.common.tracing import make_tracer
from tests.sample_services.common.live import Downstream, refused_url
from tests.sample_services.conftest import eventually

BASE: dict[str, Any] = {
    "http_connect_timeout": 0.5,
    "http_read_timeout": 2.0,
    "http_retry_attempts": 3,
    "http_backoff_base": 0.001,
    "http_backoff_cap": 0.004,
    "breaker_fail_max": 100,
    "breaker_reset_timeout": 30.0,
    "bulkhead_size": 20,
}

MakeClient = Callable[..., ResilientClient]


@pytest.fixture
def make_client(base_url: str) -> Iterator[MakeClient]:
    """`make_client(url=..., http=..., metrics=..., **settings)`; closed after the test."""
    made: list[ResilientClient] = []

    def make(
        url: str | None = None,
        *,
        http: httpx.Client | None = None,
        metrics: ServiceMetrics | None = None,
        tracer: Any = None,
        **overrides: Any,
    ) -> ResilientClient:
        client = ResilientClient(
            "down",
            url or base_url,
            OutboundSettings(**{**BASE, **overrides}),
            metrics=metrics,
            tracer=tracer,
            http=http,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _calls(metrics: ServiceMetrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "downstream_calls_total", {"downstream": "down", "outcome": outcome}
    )
    return value or 0.0


def _sample(metrics: ServiceMetrics, name: str) -> float:
    return metrics.registry.get_sample_value(name, {"downstream": "down"}) or 0.0


# --- plain calls ----------------------------------------------------------------------


def test_success_returns_the_response(make_client: MakeClient, downstream: Downstream) -> None:
    response = make_client().request("GET", "/status/200")
    assert response.status_code == 200
    assert downstream.hits["/status/200"] == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_4xx_is_an_answer_not_an_error(
    make_client: MakeClient, downstream: Downstream, method: str
) -> None:
    client = make_client(breaker_fail_max=1)
    for _ in range(3):
        assert client.request(method, "/status/404", idempotency_key="k").status_code == 404
    assert downstream.hits["/status/404"] == 3  # never retried
    assert client.breaker.current_state == "closed"  # and never a breaker failure


def test_request_id_and_traceparent_propagate_from_context(
    make_client: MakeClient, downstream: Downstream
) -> None:
    tracer = make_tracer("caller")
    client = make_client(tracer=tracer)
    token = context.request_id.set("rid-from-context")
    try:
        with tracer.start_as_current_span("incoming") as span:
            client.request("GET", "/status/200")
            trace_id = format_trace_id(span.get_span_context().trace_id)
    finally:
        context.request_id.reset(token)
    (headers,) = downstream.headers
    assert headers["x-request-id"] == "rid-from-context"
    assert headers["traceparent"].split("-")[1] == trace_id


def test_idempotency_key_is_sent_as_a_header(
    make_client: MakeClient, downstream: Downstream
) -> None:
    make_client().request("POST", "/status/201", json={"a": 1}, idempotency_key="key-9")
    assert downstream.headers[0]["idempotency-key"] == "key-9"


# --- retries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "key"),
    [("GET", None), ("PUT", None), ("DELETE", None), ("POST", "idem-1")],
    ids=["GET", "PUT", "DELETE", "POST+key"],
)
def test_repeatable_requests_are_retried_on_503(
    make_client: MakeClient, downstream: Downstream, method: str, key: str | None
) -> None:
    metrics = ServiceMetrics("t")
    client = make_client(metrics=metrics, http_retry_attempts=3)
    with pytest.raises(DownstreamUnavailable) as caught:
        client.request(method, "/status/503", idempotency_key=key)
    assert downstream.hits["/status/503"] == 3
    assert caught.value.status == 503
    assert caught.value.maybe_applied is True
    assert _sample(metrics, "downstream_retries_total") == 2


def test_post_without_key_is_not_retried_on_503(
    make_client: MakeClient, downstream: Downstream
) -> None:
    with pytest.raises(DownstreamUnavailable) as caught:
        make_client(http_retry_attempts=3).request("POST", "/status/503", json={})
    assert downstream.hits["/status/503"] == 1
    assert caught.value.maybe_applied is True


def test_500_is_not_retried_even_for_get(make_client: MakeClient, downstream: Downstream) -> None:
    # 500 is a bug in the callee, not a transient state: asking again repeats the bug.
    with pytest.raises(DownstreamUnavailable) as caught:
        make_client(http_retry_attempts=3).request("GET", "/status/500")
    assert downstream.hits["/status/500"] == 1
    assert caught.value.status == 500


def test_post_without_key_is_not_retried_after_a_read_timeout(
    make_client: MakeClient, downstream: Downstream
) -> None:
    client = make_client(http_read_timeout=0.2, http_retry_attempts=3)
    with pytest.raises(DownstreamUnavailable) as caught:
        client.request("POST", "/hold", json={})
    assert downstream.hits["/hold"] == 1
    assert caught.value.maybe_applied is True  # it reached the server: it may have acted


def test_get_is_retried_after_a_read_timeout(
    make_client: MakeClient, downstream: Downstream
) -> None:
    client = make_client(http_read_timeout=0.2, http_retry_attempts=2)
    with pytest.raises(DownstreamUnavailable) as caught:
        client.request("GET", "/hold")
    assert downstream.hits["/hold"] == 2
    assert caught.value.maybe_applied is True


def test_connect_refused_is_retried_even_for_post_without_key(make_client: MakeClient) -> None:
    metrics = ServiceMetrics("t")
    client = make_client(refused_url(), metrics=metrics, http_retry_attempts=3)
    with pytest.raises(DownstreamUnavailable) as caught:
        client.request("POST", "/status/200", json={})
    # Nothing was sent, so asking again cannot duplicate anything.
    assert _calls(metrics, "connect_error") == 3
    assert caught.value.maybe_applied is False
    assert "cannot connect" in caught.value.reason


def _counting(respond: Callable[[httpx.Request], httpx.Response]) -> tuple[httpx.Client, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return respond(request)

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://down")
    return client, seen


def _raise(exc: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        raise exc("injected", request=request)

    return respond


@pytest.mark.parametrize(
    ("exc", "method", "key", "attempts", "maybe_applied"),
    [
        (httpx.ConnectError, "POST", None, 4, False),
        (httpx.ConnectTimeout, "POST", None, 4, False),
        (httpx.ReadTimeout, "POST", None, 1, True),
        (httpx.ReadTimeout, "POST", "k", 4, True),
        (httpx.ReadTimeout, "GET", None, 4, True),
        (httpx.RemoteProtocolError, "POST", None, 1, True),
        (httpx.RemoteProtocolError, "DELETE", None, 4, True),
    ],
)
def test_transport_errors_exact_attempts(
    make_client: MakeClient,
    exc: type[httpx.TransportError],
    method: str,
    key: str | None,
    attempts: int,
    maybe_applied: bool,
) -> None:
    http, seen = _counting(_raise(exc))
    client = make_client(http=http, http_retry_attempts=4)
    with pytest.raises(DownstreamUnavailable) as caught:
        client.request(method, "/x", idempotency_key=key)
    assert len(seen) == attempts
    assert caught.value.maybe_applied is maybe_applied
    http.close()


def test_a_retry_that_succeeds_returns_the_answer(make_client: MakeClient) -> None:
    answers = iter([503, 502, 200])
    http, seen = _counting(lambda _r: httpx.Response(next(answers)))
    response = make_client(http=http, http_retry_attempts=3).request("GET", "/x")
    assert response.status_code == 200
    assert len(seen) == 3
    http.close()


def test_maybe_applied_after_a_sent_attempt_then_a_refusal(make_client: MakeClient) -> None:
    # First attempt reached the server (503), the second could not connect: the callee may
    # still have acted on the first, so the caller must not assume nothing happened.
    outcomes: Iterator[Callable[[httpx.Request], httpx.Response]] = iter(
        [lambda _r: httpx.Response(503), _raise(httpx.ConnectError)]
    )
    http, seen = _counting(lambda request: next(outcomes)(request))  # noqa: PLW0108
    with pytest.raises(DownstreamUnavailable) as caught:
        make_client(http=http, http_retry_attempts=2).request("GET", "/x")
    assert len(seen) == 2
    assert caught.value.maybe_applied is True
    http.close()


def _record_sleeps(client: ResilientClient, into: list[float]) -> None:
    original = client._count_retry

    def record(state: RetryCallState) -> None:
        into.append(state.upcoming_sleep)
        original(state)

    client._count_retry = record  # type: ignore[method-assign,assignment]


def test_backoff_never_exceeds_the_cap(make_client: MakeClient) -> None:
    http, seen = _counting(lambda _r: httpx.Response(503))
    # Uncapped, base 10 s would wait 10, 20, 40, ... seconds.
    client = make_client(
        http=http, http_retry_attempts=6, http_backoff_base=10, http_backoff_cap=0.003
    )
    sleeps: list[float] = []
    _record_sleeps(client, sleeps)
    with pytest.raises(DownstreamUnavailable):
        client.request("GET", "/x")
    assert len(seen) == 6
    assert len(sleeps) == 5
    assert all(0 <= s <= 0.003 for s in sleeps), sleeps
    http.close()


def test_backoff_is_exponential_with_full_jitter(make_client: MakeClient) -> None:
    http, _ = _counting(lambda _r: httpx.Response(503))
    client = make_client(
        http=http, http_retry_attempts=4, http_backoff_base=0.001, http_backoff_cap=1.0
    )
    sleeps: list[float] = []
    _record_sleeps(client, sleeps)
    for _ in range(5):
        with pytest.raises(DownstreamUnavailable):
            client.request("GET", "/x")
    # Retry n waits uniformly in [0, base * 2**n]: never above that bound, and not constant.
    for n, sleep in enumerate(sleeps):
        assert 0 <= sleep <= 0.001 * 2 ** (n % 3) + 1e-12, (n, sleep)
    assert len(set(sleeps)) > 1
    http.close()


# --- circuit breaker ------------------------------------------------------------------


def test_breaker_opens_after_fail_max_and_then_fails_fast(
    make_client: MakeClient, downstream: Downstream
) -> None:
    metrics = ServiceMetrics("t")
    client = make_client(metrics=metrics, breaker_fail_max=3, http_retry_attempts=1)
    for _ in range(3):
        with pytest.raises(DownstreamUnavailable):
            client.request("GET", "/status/503")
    assert downstream.hits["/status/503"] == 3
    assert client.breaker.current_state == "open"
    assert _sample(metrics, "circuit_breaker_state") == 2

    # Open: no network call at all. /hold would block for the whole read timeout (2 s) had
    # the request left the process; the hit counter proves it did not.
    for path in ("/hold", "/status/200"):
        with pytest.raises(DownstreamUnavailable) as caught:
            client.request("GET", path)
        assert caught.value.reason == "circuit open"
        assert caught.value.maybe_applied is False
    assert downstream.total() == 3
    assert _calls(metrics, "breaker_open") == 2


def test_the_call_that_trips_the_breaker_reports_its_own_failure(
    make_client: MakeClient, downstream: Downstream
) -> None:
    metrics = ServiceMetrics("t")
    client = make_client(metrics=metrics, breaker_fail_max=1, http_retry_attempts=1)
    with pytest.raises(DownstreamUnavailable) as caught:
        client.request("GET", "/status/503")
    assert (caught.value.reason, caught.value.status) == ("server error", 503)
    assert client.breaker.current_state == "open"
    assert _calls(metrics, "breaker_open") == 0  # it was sent: not a refusal


def test_calls_through_one_breaker_run_concurrently(
    make_client: MakeClient, downstream: Downstream
) -> None:
    # Regression: pybreaker's own call() holds a lock around the request, so a second
    # request to the same downstream waited for the first to finish.
    client = make_client(http_read_timeout=5.0)
    threads = [threading.Thread(target=client.request, args=("GET", "/hold")) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        eventually(lambda: downstream.hits["/hold"] == 3, timeout=5)
    finally:
        downstream.release.set()
        for thread in threads:
            thread.join(timeout=10)


def test_half_open_admits_one_trial_call_at_a_time(
    make_client: MakeClient, downstream: Downstream
) -> None:
    client = make_client(
        breaker_fail_max=1, breaker_reset_timeout=0.2, http_retry_attempts=1, http_read_timeout=5.0
    )
    with pytest.raises(DownstreamUnavailable):
        client.request("GET", "/status/503")
    trial: list[int] = []

    def call_until_admitted() -> None:
        def admitted() -> bool:
            try:
                trial.append(client.request("GET", "/hold").status_code)
            except DownstreamUnavailable:
                return False
            return True

        eventually(admitted, timeout=5)

    thread = threading.Thread(target=call_until_admitted)
    thread.start()
    try:
        eventually(lambda: downstream.hits["/hold"] == 1, timeout=5)
        assert client.breaker.current_state == "half-open"
        with pytest.raises(DownstreamUnavailable) as caught:
            client.request("GET", "/status/200")
        assert caught.value.reason == "circuit open"
        assert caught.value.maybe_applied is False
        assert downstream.hits["/status/200"] == 0
    finally:
        downstream.release.set()
        thread.join(timeout=10)
    assert trial == [200]
    assert client.breaker.current_state == "closed"
    assert client.request("GET", "/status/200").status_code == 200


def test_retries_stop_when_the_breaker_opens(make_client: MakeClient) -> None:
    # No retry storm: 5 attempts allowed, but the breaker trips after the second failure.
    http, seen = _counting(lambda _r: httpx.Response(503))
    client = make_client(http=http, breaker_fail_max=2, http_retry_attempts=5)
    with pytest.raises(DownstreamUnavailable) as caught:
        client.request("GET", "/x")
    assert len(seen) == 2
    assert caught.value.reason == "circuit open"
    http.close()


def test_breaker_half_opens_after_the_reset_timeout_and_closes_on_success(
    make_client: MakeClient, downstream: Downstream
) -> None:
    metrics = ServiceMetrics("t")
    client = make_client(
        metrics=metrics, breaker_fail_max=2, breaker_reset_timeout=0.2, http_retry_attempts=1
    )
    for _ in range(2):
        with pytest.raises(DownstreamUnavailable):
            client.request("GET", "/status/503")
    assert client.breaker.current_state == "open"

    refusals: list[str] = []

    def trial_call_succeeds() -> bool:
        try:
            return client.request("GET", "/status/200").status_code == 200
        except DownstreamUnavailable as exc:
            refusals.append(exc.reason)
            return False

    eventually(trial_call_succeeds, timeout=5)
    # Every call before the timeout failed fast; exactly one (the trial) reached the server.
    assert set(refusals) <= {"circuit open"}
    assert downstream.hits["/status/200"] == 1
    assert client.breaker.current_state == "closed"
    assert _sample(metrics, "circuit_breaker_state") == 0


def test_a_failed_trial_call_reopens_the_breaker(
    make_client: MakeClient, downstream: Downstream
) -> None:
    client = make_client(breaker_fail_max=2, breaker_reset_timeout=0.2, http_retry_attempts=1)
    for _ in range(2):
        with pytest.raises(DownstreamUnavailable):
            client.request("GET", "/status/503")

    def trial_reached_the_server() -> bool:
        with pytest.raises(DownstreamUnavailable):
            client.request("GET", "/status/503")
        return downstream.hits["/status/503"] == 3

    eventually(trial_reached_the_server, timeout=5)
    assert client.breaker.current_state == "open"
    with pytest.raises(DownstreamUnavailable) as caught:
        client.request("GET", "/status/503")
    assert caught.value.reason == "circuit open"
    assert caught.value.maybe_applied is False
    assert downstream.hits["/status/503"] == 3


# --- bulkhead -------------------------------------------------------------------------


def test_full_bulkhead_rejects_at_once_without_a_network_call(
    make_client: MakeClient, downstream: Downstream
) -> None:
    metrics = ServiceMetrics("t")
    client = make_client(metrics=metrics, bulkhead_size=2, http_read_timeout=5.0)
    results: list[int] = []

    def call() -> None:
        results.append(client.request("GET", "/hold").status_code)

    holders = [threading.Thread(target=call) for _ in range(2)]
    for thread in holders:
        thread.start()
    try:
        eventually(lambda: downstream.hits["/hold"] == 2, timeout=5)
        with pytest.raises(DownstreamUnavailable) as caught:
            client.request("GET", "/status/200")
        assert caught.value.reason == "bulkhead full"
        assert caught.value.maybe_applied is False
        assert downstream.hits["/status/200"] == 0
        assert _sample(metrics, "bulkhead_rejections_total") == 1
    finally:
        downstream.release.set()
        for thread in holders:
            thread.join(timeout=10)
    assert results == [200, 200]
    # The permits came back: the next call goes through.
    assert client.request("GET", "/status/200").status_code == 200


def test_bulkhead_permit_is_returned_after_a_failure(make_client: MakeClient) -> None:
    http, _ = _counting(_raise(httpx.ConnectError))
    client = make_client(http=http, bulkhead_size=1, http_retry_attempts=1)
    for _ in range(3):
        with pytest.raises(DownstreamUnavailable) as caught:
            client.request("GET", "/x")
        assert caught.value.reason.startswith("cannot connect")
    http.close()


# --- lifecycle ------------------------------------------------------------------------


def test_close_closes_only_a_client_it_created(make_client: MakeClient) -> None:
    borrowed = httpx.Client(base_url="http://down")
    lent = make_client(http=borrowed)
    owned = make_client()
    lent.close()
    owned.close()
    assert not borrowed.is_closed
    assert owned.http.is_closed
    borrowed.close()


def test_worst_case_latency_bounds_attempts_and_backoff() -> None:
    settings = OutboundSettings(**{**BASE, "http_retry_attempts": 3})
    assert settings.worst_case_latency() == pytest.approx((0.5 + 2.0) * 3 + 0.004 * 2)
