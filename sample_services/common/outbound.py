"""The one resilient client every outbound HTTP call goes through.

Timeouts bound each attempt; tenacity retries with exponential backoff and full jitter;
pybreaker keeps one circuit breaker per downstream; a semaphore is the bulkhead. Retries
are only for requests that are safe to repeat: idempotent methods, requests carrying an
Idempotency-Key, and connect failures (the request never left this process).
"""

from __future__ import annotations

import functools
import ssl
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pybreaker
from opentelemetry.trace import SpanKind, Tracer
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from sample_services.common import context, tracing
from sample_services.common.metrics import BREAKER_STATES, ServiceMetrics
from sample_services.common.settings import OutboundSettings

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
TRANSIENT_STATUSES = frozenset({502, 503, 504})


class DownstreamError(Exception):
    """A call to another service did not produce a usable response.

    `maybe_applied` is False only when the request certainly never reached the callee
    (breaker open, bulkhead full, connection refused); callers use it to decide between
    compensating and asking again.
    """

    def __init__(
        self, downstream: str, reason: str, *, status: int | None = None, maybe_applied: bool
    ) -> None:
        super().__init__(f"{downstream}: {reason}" + (f" (HTTP {status})" if status else ""))
        self.downstream = downstream
        self.reason = reason
        self.status = status
        self.maybe_applied = maybe_applied


class DownstreamUnavailable(DownstreamError):
    """Timeouts, refused connections, 5xx, an open breaker or a full bulkhead."""


class _TransientStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class _ServerError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


_T = TypeVar("_T")


class _ConcurrentBreaker(pybreaker.CircuitBreaker):
    """A pybreaker breaker that lets calls run concurrently.

    pybreaker's own `call` holds the breaker's lock while the guarded function runs
    (danielfm/pybreaker#3), which serialises every request to one downstream: the bulkhead
    could never hold more than one call, and one slow request would queue all others
    behind it instead of letting them fail fast. Here the lock guards only the state
    machine (admission and bookkeeping), and a half-open breaker admits one trial call.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._trial_running = False

    def call(self, func: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        with self._lock:
            state = self._admit()
        try:
            # Inside the try: whatever raises after admission must settle the call, or a
            # half-open breaker would wait forever for its trial to finish.
            for listener in self.listeners:
                listener.before_call(self, func, *args, **kwargs)
            result = func(*args, **kwargs)
        except BaseException as exc:
            with self._lock:
                if self._settle(state):
                    state._handle_error(exc)  # re-raises, after opening the circuit if due
            raise
        with self._lock:
            if self._settle(state):
                state._handle_success()
        return result

    def _admit(self) -> pybreaker.CircuitBreakerState:
        state = self.state
        if state.name == pybreaker.STATE_OPEN:
            opened_at = self._state_storage.opened_at
            if opened_at and datetime.now(UTC) < opened_at + timedelta(seconds=self.reset_timeout):
                raise pybreaker.CircuitBreakerError("circuit open")
            self.half_open()
            state = self.state
        if state.name == pybreaker.STATE_HALF_OPEN:
            if self._trial_running:
                raise pybreaker.CircuitBreakerError("circuit half-open, trial call running")
            self._trial_running = True
        return state

    def _settle(self, admitted: pybreaker.CircuitBreakerState) -> bool:
        """Whether the outcome of a call admitted in `admitted` still counts.

        A call that outlived its state (the breaker opened or closed meanwhile, through
        other calls) reports to a state machine that has moved on: ignore it.
        """
        if admitted.name == pybreaker.STATE_HALF_OPEN:
            self._trial_running = False
        return self.state is admitted


class _BreakerGauge(pybreaker.CircuitBreakerListener):
    def __init__(self, metrics: ServiceMetrics | None, downstream: str) -> None:
        self.metrics = metrics
        self.downstream = downstream

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        if self.metrics is not None:
            self.metrics.breaker_state.labels(self.downstream).set(
                BREAKER_STATES.get(str(new_state.name), 0)
            )


def _may_retry(method: str, idempotency_key: str | None, exc: BaseException) -> bool:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return True
    if method not in IDEMPOTENT_METHODS and idempotency_key is None:
        return False
    return isinstance(exc, httpx.TransportError | _TransientStatus)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every client of the process, httpx's default one: building it
    parses the CA bundle, ~50 ms of CPU that each client would otherwise spend again at
    start (the gateway has four)."""
    return httpx.create_ssl_context()


class ResilientClient:
    """Calls one downstream service. Thread-safe; one instance per downstream."""

    def __init__(
        self,
        downstream: str,
        base_url: str,
        settings: OutboundSettings,
        *,
        metrics: ServiceMetrics | None = None,
        tracer: Tracer | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.downstream = downstream
        self.settings = settings
        self.metrics = metrics
        self.tracer = tracer
        timeout = httpx.Timeout(
            connect=settings.http_connect_timeout,
            read=settings.http_read_timeout,
            write=settings.http_read_timeout,
            pool=settings.http_connect_timeout,
        )
        self._owns_http = http is None
        self.http = http or httpx.Client(
            base_url=base_url,
            timeout=timeout,
            limits=httpx.Limits(max_connections=settings.bulkhead_size * 2),
            verify=_tls_context(),
        )
        self.breaker = _ConcurrentBreaker(
            # The call that trips the breaker reports its own failure (e.g. HTTP 503, sent);
            # "circuit open" is kept for calls the breaker refused without sending.
            throw_new_error_on_trip=False,
            fail_max=settings.breaker_fail_max,
            reset_timeout=settings.breaker_reset_timeout,
            name=downstream,
            listeners=[_BreakerGauge(metrics, downstream)],
        )
        self._bulkhead = threading.BoundedSemaphore(settings.bulkhead_size)
        if metrics is not None:
            metrics.breaker_state.labels(downstream).set(0)

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send one logical request; returns any response below 500, raises otherwise."""
        method = method.upper()
        if not self._bulkhead.acquire(blocking=False):
            self._count("bulkhead_full")
            if self.metrics is not None:
                self.metrics.bulkhead_rejections.labels(self.downstream).inc()
            raise DownstreamUnavailable(self.downstream, "bulkhead full", maybe_applied=False)
        try:
            return self._with_retries(method, path, json, params, headers, idempotency_key)
        finally:
            self._bulkhead.release()

    def _with_retries(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        idempotency_key: str | None,
    ) -> httpx.Response:
        s = self.settings
        retrying = Retrying(
            stop=stop_after_attempt(s.http_retry_attempts),
            wait=wait_random_exponential(multiplier=s.http_backoff_base, max=s.http_backoff_cap),
            retry=retry_if_exception(lambda e: _may_retry(method, idempotency_key, e)),
            before_sleep=self._count_retry,
            reraise=True,
        )
        sent: list[bool] = []
        try:
            for attempt in retrying:
                with attempt:
                    return self.breaker.call(
                        self._send, method, path, json, params, headers, idempotency_key, sent
                    )
        except pybreaker.CircuitBreakerError as exc:
            self._count("breaker_open")
            raise DownstreamUnavailable(
                self.downstream, "circuit open", maybe_applied=bool(sent)
            ) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise DownstreamUnavailable(
                self.downstream, f"cannot connect: {exc!r}", maybe_applied=bool(sent)
            ) from exc
        except httpx.TransportError as exc:
            raise DownstreamUnavailable(
                self.downstream, f"transport error: {exc!r}", maybe_applied=True
            ) from exc
        except (_TransientStatus, _ServerError) as exc:
            raise DownstreamUnavailable(
                self.downstream,
                "server error",
                status=exc.response.status_code,
                maybe_applied=True,
            ) from exc
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    def _send(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        idempotency_key: str | None,
        sent: list[bool],
    ) -> httpx.Response:
        out: dict[str, str] = dict(headers or {})
        rid = context.request_id.get()
        if rid:
            out.setdefault("X-Request-ID", rid)
        if idempotency_key is not None:
            out["Idempotency-Key"] = idempotency_key
        try:
            if self.tracer is not None:
                with self.tracer.start_as_current_span(
                    f"{method} {self.downstream}", kind=SpanKind.CLIENT
                ):
                    tracing.inject(out)
                    response = self.http.request(
                        method, path, json=json, params=params, headers=out
                    )
            else:
                response = self.http.request(method, path, json=json, params=params, headers=out)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            self._count("connect_error")
            raise
        except httpx.TimeoutException:
            sent.append(True)
            self._count("timeout")
            raise
        except httpx.TransportError:
            sent.append(True)
            self._count("transport_error")
            raise
        sent.append(True)
        if response.status_code in TRANSIENT_STATUSES:
            self._count("error_status")
            raise _TransientStatus(response)
        if response.status_code >= 500:
            self._count("error_status")
            raise _ServerError(response)
        self._count("ok")
        return response

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.downstream_calls.labels(self.downstream, outcome).inc()

    def _count_retry(self, _state: RetryCallState) -> None:
        if self.metrics is not None:
            self.metrics.downstream_retries.labels(self.downstream).inc()
