"""The app factory: middleware, health, readiness, metrics and test hooks for every service."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, Tracer, format_trace_id
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from sample_services.common import context, tracing
from sample_services.common.logs import configure_logging
from sample_services.common.metrics import ServiceMetrics
from sample_services.common.outbound import DownstreamError
from sample_services.common.problems import ProblemError
from sample_services.common.settings import ServiceSettings

log = logging.getLogger("sample_services.http")

ReadinessCheck = Callable[[], None]
"""Raises when the dependency it checks is unusable."""


class Liveness(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@dataclass
class Lifecycle:
    """Background work a service runs for as long as it serves (workers, consumers)."""

    on_start: list[Callable[[], None]] = field(default_factory=list)
    on_stop: list[Callable[[], None]] = field(default_factory=list)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "rate_limited",
}


def create_service_app(
    service: str,
    settings: ServiceSettings,
    *,
    readiness: Mapping[str, ReadinessCheck],
    metrics: ServiceMetrics,
    tracer: Tracer,
    lifecycle: Lifecycle | None = None,
    version: str = "1.0.0",
) -> FastAPI:
    life = lifecycle or Lifecycle()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for start in life.on_start:
            start()
        try:
            yield
        finally:
            for stop in reversed(life.on_stop):
                stop()

    app = FastAPI(title=service, version=version, lifespan=lifespan)
    app.state.metrics = metrics
    app.state.settings = settings

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        token_rid = context.request_id.set(rid)
        parent = tracing.extract(request.headers)
        started = time.perf_counter()
        with tracer.start_as_current_span(
            f"{request.method} {request.url.path}", context=parent, kind=SpanKind.SERVER
        ) as span:
            token_trace = context.trace_id.set(format_trace_id(span.get_span_context().trace_id))
            try:
                response = await call_next(request)
            finally:
                context.trace_id.reset(token_trace)
                context.request_id.reset(token_rid)
            if response.status_code == 405:
                # Starlette names only the first route matching the path; a path served by
                # several routes (GET and PUT /stock/{sku}) must list all their methods.
                methods = allowed_methods(app, request.url.path)
                if methods:
                    response.headers["Allow"] = ", ".join(methods)
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            metrics.requests.labels(request.method, template, str(response.status_code)).inc()
            metrics.latency.labels(request.method, template).observe(elapsed)
            response.headers["X-Request-ID"] = rid
            carrier: dict[str, str] = {}
            tracing.inject(carrier)
            if "traceparent" in carrier:
                response.headers["traceparent"] = carrier["traceparent"]
            if template not in ("/healthz", "/readyz", "/metrics"):
                log.info(
                    "request",
                    extra={
                        "method": request.method,
                        "path": request.url.path,
                        "status": response.status_code,
                        "duration_ms": round(elapsed * 1000, 2),
                        "request_id": rid,
                        "trace_id": format_trace_id(span.get_span_context().trace_id),
                    },
                )
            return response

    @app.exception_handler(ProblemError)
    async def problem(_request: Request, exc: ProblemError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail, "code": exc.code},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return JSONResponse(
            {"detail": str(exc.detail), "code": code},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Routes document 422 as a Problem (detail is a string); FastAPI's default body
        # (`detail` as a list) would contradict every service's OpenAPI.
        return JSONResponse(
            {"detail": _validation_summary(exc), "code": "validation_error"}, status_code=422
        )

    @app.exception_handler(DownstreamError)
    async def downstream(_request: Request, exc: DownstreamError) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc), "code": "dependency_unavailable"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.get("/healthz", response_model=Liveness, tags=["operations"])
    def healthz() -> Liveness:
        """Liveness: the process serves requests. Never looks at dependencies."""
        return Liveness(status="ok")

    @app.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "A dependency is unusable"}},
        tags=["operations"],
    )
    def readyz() -> Any:
        """Readiness: the database and critical dependencies answer."""
        results: dict[str, str] = {}
        ready = True
        for name, check in readiness.items():
            try:
                check()
                results[name] = "ok"
            except Exception as exc:
                ready = False
                results[name] = f"error: {type(exc).__name__}: {exc}"[:300]
        body = Readiness(status="ready" if ready else "not_ready", checks=results)
        if ready:
            return body
        return JSONResponse(body.model_dump(), status_code=503)

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI documents for the path template ``path`` matches (for Allow).

    Read from the OpenAPI, not the routes: FastAPI keeps included routers as opaque
    wrappers, and the documented methods are exactly what ``Allow`` must agree with.
    Undocumented paths (hooks, /metrics) give [] and keep Starlette's header.
    """
    table: list[tuple[re.Pattern[str], list[str]]] | None = getattr(app.state, "allow_table", None)
    if table is None:
        table = []
        for template, item in app.openapi().get("paths", {}).items():
            regex = re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(template))
            methods = sorted(m.upper() for m in item if m in _HTTP_METHODS)
            table.append((re.compile(f"^{regex}$"), methods))
        app.state.allow_table = table
    for pattern, methods in table:
        if pattern.match(path):
            return methods
    return []


def _validation_summary(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
    return "; ".join(parts)[:2000] or "invalid request"


class ProviderState(BaseModel):
    state: str
    params: dict[str, Any] = {}
    action: str = "setup"


def mount_test_hooks(
    app: FastAPI,
    settings: ServiceSettings,
    *,
    reset: Callable[[], None],
    states: Mapping[str, Callable[[dict[str, Any]], None]] | None = None,
) -> None:
    """Hooks for the harness (provider states, reset), mounted only when explicitly enabled."""
    if not settings.enable_test_hooks:
        return
    router = APIRouter(prefix="/_test", include_in_schema=False)
    known = dict(states or {})

    @router.post("/reset")
    def reset_state() -> dict[str, str]:
        reset()
        return {"status": "reset"}

    @router.post("/provider-states")
    def provider_state(body: ProviderState) -> dict[str, Any]:
        if body.action == "teardown":
            return {"result": "ok"}
        handler = known.get(body.state)
        if handler is None:
            raise ProblemError(400, "unknown_state", f"no provider state {body.state!r}")
        handler(body.params)
        return {"result": "ok"}

    app.include_router(router)


def readiness_from(checks: Iterable[tuple[str, ReadinessCheck]]) -> dict[str, ReadinessCheck]:
    return dict(checks)


def serve(app: FastAPI, service: str, settings: ServiceSettings) -> None:
    """Run one service in the foreground; uvicorn handles SIGTERM with a graceful stop."""
    configure_logging(service, settings.log_level)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


def detach_context() -> object:
    """A clean OpenTelemetry context for background threads (no inherited request span)."""
    return otel_context.attach(otel_context.Context())


def handle_database_outages(app: FastAPI) -> None:
    """Answer 503 (retryable) rather than 500 when the database cannot be reached.

    Connection loss, a pool timeout or a locked SQLite file are outages a caller may retry;
    anything else the database raises stays a 500 because it is a bug.
    """

    async def unavailable(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable", extra={"error": f"{type(exc).__name__}: {exc}"[:300]})
        return JSONResponse(
            {"detail": "the database is unavailable", "code": "database_unavailable"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    for error in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError):
        app.add_exception_handler(error, unavailable)
