"""The gateway app: bearer auth, then a per-client token bucket, then the routes.

Authentication and the rate limit run in the route class, before FastAPI reads or
validates the body, so a request without a valid token learns nothing but 401 and no
backend ever sees it.

Readiness: the gateway owns no database, so by default it is ready when its own
configuration is usable (the verification key loads). Backends are *not* readiness
checks by default: a load balancer would then pull every gateway whenever one backend is
down, turning a partial outage (say, shipping) into a total one, while the gateway can
still serve the routes that do not need it and fail the others fast with a 503 problem
(breakers). READINESS_BACKENDS=orders,... opts named backends in for deployments that
prefer the other trade-off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sample_services.common import problems
from sample_services.common.app import Lifecycle, create_service_app, mount_test_hooks
from sample_services.common.idempotency import MAX_KEY_LENGTH, key_parameter, required_key
from sample_services.common.links import link
from sample_services.common.metrics import ServiceMetrics
from sample_services.common.outbound import DownstreamError, ResilientClient
from sample_services.common.problems import ProblemError
from sample_services.common.tracing import make_tracer
from sample_services.gateway.auth import AuthError, Principal, TokenIssuer, TokenVerifier
from sample_services.gateway.clients import BackendRejected, Backends, connect
from sample_services.gateway.ratelimit import Clock, RateLimiter
from sample_services.gateway.schemas import (
    ID_PATTERN,
    MAX_SKU_LENGTH,
    Account,
    CreateOrder,
    Order,
    OrderView,
    Payment,
    Saga,
    SetBalance,
    SetStock,
    Shipment,
    Stock,
    TokenRequest,
    TokenResponse,
)
from sample_services.gateway.settings import BACKENDS, GatewaySettings
from sample_services.gateway.stale import AGE_HEADER, StaleCache

ADMIN_SCOPE = "admin"
DEGRADED_HEADER = "X-Degraded"
_INSUFFICIENT_SCOPE = f'Bearer error="insufficient_scope", scope="{ADMIN_SCOPE}"'

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="A JWT (HS256 or RS256, as configured) with `exp`; `sub` names the client.",
)

PathId = Annotated[str, Path(pattern=ID_PATTERN, max_length=128)]
# Inventory's bound: a longer sku would pass here and be refused there (422), so the
# gateway's OpenAPI would promise what the route cannot keep.
SkuPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=MAX_SKU_LENGTH)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="Makes the request safe to repeat: a replay returns the first response.",
    ),
]
REQUIRED_IDEMPOTENCY_KEY = key_parameter(
    "Makes the request safe to repeat: a replay returns the first response."
)

# Where an answer leads (OpenAPI links; Schemathesis' stateful phase follows them).
GET_ORDER = link("GET", "/api/orders/{order_id}", "The order", order_id="order_id")
GET_SAGA = link("GET", "/api/orders/{order_id}/saga", "The order's saga", order_id="order_id")
CANCEL_ORDER = link(
    "POST", "/api/orders/{order_id}/cancel", "Cancel the order once CONFIRMED", order_id="order_id"
)
GET_STOCK = link("GET", "/api/stock/{sku}", "The sku's stock", sku="sku")
GET_ACCOUNT = link(
    "GET", "/api/accounts/{account_id}", "The account's balance", account_id="account_id"
)

_STRING: dict[str, Any] = {"schema": {"type": "string"}}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer challenge", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {
            "description": "Whole seconds until a token is available (>= 1)",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
    503: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Problem responses for every /api route: auth, rate limit and backend outage first."""
    documented = problems.responses(401, 429, 503, *statuses)
    for status, headers in _HEADERS.items():
        if status in documented:
            documented[status]["headers"] = headers
    return documented


class Guard:
    """Authenticates the bearer token, then takes a token from the client's bucket."""

    def __init__(self, verifier: TokenVerifier, limiter: RateLimiter) -> None:
        self.verifier = verifier
        self.limiter = limiter

    def admit(self, request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ProblemError(
                401,
                "unauthorized",
                "missing bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            principal = self.verifier.verify(token.strip())
        except AuthError as exc:
            raise ProblemError(
                401,
                "unauthorized",
                str(exc),
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from exc
        wait = self.limiter.retry_after(principal.client_id)
        if wait is not None:
            raise ProblemError(
                429,
                "rate_limited",
                f"rate limit exceeded for client {principal.client_id!r}",
                headers={"Retry-After": str(wait)},
            )
        return principal


class GuardedRoute(APIRoute):
    """Runs the Guard before FastAPI parses the body or solves any dependency."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            guard: Guard = request.app.state.guard
            request.state.principal = guard.admit(request)
            return await handler(request)

        return guarded


def current_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """The Guard's verdict; the Security parameter declares the scheme in the OpenAPI."""
    principal: Principal = request.state.principal
    return principal


def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if ADMIN_SCOPE not in principal.scopes:
        raise ProblemError(
            403,
            "forbidden",
            f"this route needs scope {ADMIN_SCOPE!r}",
            headers={
                "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{ADMIN_SCOPE}"'
            },
        )
    return principal


STALE_AGE = {
    "description": "present when the answer is the last known one, answered from the "
    "gateway's memory while its backend is out: its age in seconds (stale_if_error bounds it)",
    "schema": {"type": "integer", "minimum": 0},
}


def _stale_ok(backend: str) -> dict[str, Any]:
    return {
        "headers": {
            DEGRADED_HEADER: {
                "description": f"`{backend}` when the answer is the last known one (see Age)",
                "schema": {"type": "string"},
            },
            AGE_HEADER: STALE_AGE,
        }
    }


def _api_router(backends: Backends, stale: StaleCache) -> APIRouter:
    router = APIRouter(
        prefix="/api",
        route_class=GuardedRoute,
        dependencies=[Depends(current_principal)],
    )

    @router.post(
        "/orders",
        status_code=202,
        response_model=Order,
        summary="Place an order (the checkout saga runs asynchronously)",
        responses={
            **_errors(400, 409, 422),
            202: {
                "headers": {
                    "Location": {"description": "The order's URL", "schema": {"type": "string"}}
                },
                "links": {"GetOrder": GET_ORDER, "GetSaga": GET_SAGA, "CancelOrder": CANCEL_ORDER},
            },
        },
        tags=["orders"],
        # Read by hand, not as a FastAPI parameter, so that a missing key is the documented
        # 400 rather than a 422, while the OpenAPI still says the header is required.
        openapi_extra={"parameters": [REQUIRED_IDEMPOTENCY_KEY]},
    )
    def place_order(body: CreateOrder, request: Request, response: Response) -> Order:
        idempotency_key = required_key(request, "POST /api/orders")
        order = backends.orders.create_order(body, idempotency_key=idempotency_key)
        response.headers["Location"] = f"/api/orders/{order.order_id}"
        return order

    @router.get(
        "/orders/{order_id}",
        response_model=OrderView,
        summary="An order with its shipment (null when none yet or shipping is unavailable)",
        responses={
            **_errors(404, 422),
            200: {
                "headers": {
                    DEGRADED_HEADER: {
                        "description": "`shipping` when the shipment could not be looked up;"
                        " `shipment` is then null for lack of an answer. `orders` when the"
                        " order is the last known one, answered from memory (see Age)",
                        "schema": {"type": "string"},
                    },
                    AGE_HEADER: STALE_AGE,
                }
            },
        },
        tags=["orders"],
    )
    def get_order(order_id: PathId, response: Response) -> OrderView:
        def compose() -> OrderView:
            order = backends.orders.get_order(order_id)
            # A degraded answer beats none: the order is what the caller asked for, and the
            # shipment is only a detail of it, so shipping's outage must not fail the read.
            shipment: Shipment | None
            try:
                shipment = backends.shipping.find_shipment(order_id)
            except (DownstreamError, BackendRejected):
                shipment = None
                response.headers[DEGRADED_HEADER] = "shipping"
            return OrderView(**order.model_dump(), shipment=shipment)

        return stale.read("orders", order_id, compose, response, DEGRADED_HEADER)

    @router.get(
        "/orders/{order_id}/saga",
        response_model=Saga,
        summary="The order's saga steps",
        responses=_errors(404, 422),
        tags=["orders"],
    )
    def get_saga(order_id: PathId) -> Saga:
        return backends.orders.get_saga(order_id)

    @router.post(
        "/orders/{order_id}/cancel",
        response_model=Order,
        summary="Cancel an order (refund and return the stock)",
        responses={
            **_errors(404, 409, 422),
            200: {"links": {"GetOrder": GET_ORDER, "GetSaga": GET_SAGA}},
        },
        tags=["orders"],
    )
    def cancel_order(order_id: PathId, idempotency_key: IdempotencyKey = None) -> Order:
        return backends.orders.cancel_order(order_id, idempotency_key=idempotency_key)

    @router.get(
        "/stock/{sku}",
        response_model=Stock,
        summary="Stock of one SKU",
        responses={**_errors(404, 422), 200: _stale_ok("inventory")},
        tags=["inventory"],
    )
    def get_stock(sku: SkuPath, response: Response) -> Stock:
        return stale.read(
            "inventory", sku, lambda: backends.inventory.get_stock(sku), response, DEGRADED_HEADER
        )

    @router.put(
        "/stock/{sku}",
        response_model=Stock,
        summary="Set the available stock of one SKU (scope admin)",
        responses={**_errors(400, 403, 422), 200: {"links": {"GetStock": GET_STOCK}}},
        dependencies=[Depends(require_admin)],
        tags=["inventory"],
    )
    def set_stock(sku: SkuPath, body: SetStock) -> Stock:
        return backends.inventory.set_stock(sku, body)

    @router.get(
        "/accounts/{account_id}",
        response_model=Account,
        summary="One account's balance",
        responses={**_errors(404, 422), 200: _stale_ok("payments")},
        tags=["payments"],
    )
    def get_account(account_id: PathId, response: Response) -> Account:
        return stale.read(
            "payments",
            account_id,
            lambda: backends.payments.get_account(account_id),
            response,
            DEGRADED_HEADER,
        )

    @router.put(
        "/accounts/{account_id}",
        response_model=Account,
        summary="Set an account's balance (scope admin)",
        responses={**_errors(400, 403, 422), 200: {"links": {"GetAccount": GET_ACCOUNT}}},
        dependencies=[Depends(require_admin)],
        tags=["payments"],
    )
    def set_account(account_id: PathId, body: SetBalance) -> Account:
        return backends.payments.set_account(account_id, body)

    @router.get(
        "/payments/{payment_id}",
        response_model=Payment,
        summary="One payment",
        responses=_errors(404, 422),
        tags=["payments"],
    )
    def get_payment(payment_id: PathId) -> Payment:
        return backends.payments.get_payment(payment_id)

    @router.get(
        "/shipments/{order_id}",
        response_model=Shipment,
        summary="The shipment of an order",
        responses=_errors(404, 422),
        tags=["shipping"],
    )
    def get_shipment(order_id: PathId) -> Shipment:
        return backends.shipping.get_shipment(order_id)

    return router


def _token_router(issuer: TokenIssuer) -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.post(
        "/auth/token",
        response_model=TokenResponse,
        summary="Issue a signed token (development only)",
        responses=problems.responses(400, 422),
    )
    def issue_token(body: TokenRequest) -> TokenResponse:
        token = issuer.issue(body.client_id, body.normalised_scopes())
        return TokenResponse(access_token=token, expires_in=issuer.ttl)

    return router


def _healthz(client: ResilientClient) -> Callable[[], None]:
    def check() -> None:
        # Straight through the connection pool (its connect/read timeouts bound the probe):
        # a readiness probe must neither trip the breaker nor wait out retries.
        client.http.get("/healthz").raise_for_status()

    return check


def create_app(
    settings: GatewaySettings | None = None,
    *,
    http: Mapping[str, httpx.Client] | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """`http` routes a backend (by name) to another client; `clock` drives the rate limit
    and the age of stale answers."""
    settings = settings or GatewaySettings()
    metrics = ServiceMetrics("gateway")
    tracer = make_tracer("gateway")
    verifier = TokenVerifier(settings)
    limiter = RateLimiter(
        settings.rate_limit_rps, settings.rate_limit_burst, clock=clock or time.monotonic
    )
    backends = connect(
        {name: settings.backend_url(name) for name in BACKENDS},
        settings,
        metrics=metrics,
        tracer=tracer,
        http=http,
        shipment_lookup_budget=settings.shipment_lookup_budget,
    )
    by_name = {client.downstream: client for client in backends.resilient_clients()}

    def key_loads() -> None:
        verifier.key()

    readiness: dict[str, Callable[[], None]] = {"verification_key": key_loads}
    for name in settings.readiness_backend_names():
        readiness[name] = _healthz(by_name[name])

    app = create_service_app(
        "gateway",
        settings,
        readiness=readiness,
        metrics=metrics,
        tracer=tracer,
        lifecycle=Lifecycle(on_stop=[backends.close]),
    )
    app.state.guard = Guard(verifier, limiter)
    app.state.backends = backends

    @app.exception_handler(BackendRejected)
    async def relay_rejection(_request: Request, exc: BackendRejected) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status_code, headers=exc.headers)

    stale = StaleCache(settings.stale_if_error, clock=clock or time.monotonic)
    app.state.stale = stale
    app.include_router(_api_router(backends, stale))
    if settings.enable_token_issuer:
        app.include_router(_token_router(TokenIssuer(settings)))

    def reset() -> None:
        limiter.reset()
        stale.clear()

    mount_test_hooks(app, settings, reset=reset)
    return app
