"""The app factory: health, readiness, problems, request id, trace context, test hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from sample_services.common.app import Lifecycle, create_service_app, mount_test_hooks
from sample_services.common.metrics import ServiceMetrics
from sample_services.common.outbound import DownstreamUnavailable
from sample_services.common.problems import ProblemError, responses
from sample_services.common.settings import ServiceSettings
from sample_services.common.tracing import make_tracer


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    quantity: int = Field(gt=0)


def _app(
    readiness: dict[str, Callable[[], None]] | None = None,
    *,
    lifecycle: Lifecycle | None = None,
    hooks: bool = False,
    reset: Callable[[], None] = lambda: None,
    states: dict[str, Callable[[dict[str, Any]], None]] | None = None,
) -> FastAPI:
    settings = ServiceSettings(enable_test_hooks=hooks)
    app = create_service_app(
        "svc",
        settings,
        readiness=readiness or {},
        metrics=ServiceMetrics("svc"),
        tracer=make_tracer("svc"),
        lifecycle=lifecycle,
    )

    @app.get("/down", responses=responses(503))
    def down() -> None:
        raise DownstreamUnavailable("inventory", "circuit open", maybe_applied=False)

    @app.get("/refuse")
    def refuse() -> None:
        raise ProblemError(409, "insufficient_stock", "not enough S1")

    @app.post("/things", responses=responses(422))
    def things(body: Body) -> dict[str, int]:
        return {"quantity": body.quantity}

    mount_test_hooks(app, settings, reset=reset, states=states)
    return app


def test_healthz_and_readyz() -> None:
    def broken() -> None:
        raise ConnectionError("database cut off")

    with TestClient(_app({"database": lambda: None})) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready", "checks": {"database": "ok"}}
    with TestClient(_app({"database": broken, "broker": lambda: None})) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "not_ready"
        assert body["checks"]["broker"] == "ok"
        assert body["checks"]["database"] == "error: ConnectionError: database cut off"


def test_downstream_error_is_a_503_problem() -> None:
    with TestClient(_app()) as client:
        response = client.get("/down")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "inventory: circuit open",
        "code": "dependency_unavailable",
    }
    assert response.headers["retry-after"] == "1"


def test_problem_errors_and_unknown_routes_are_problems() -> None:
    with TestClient(_app()) as client:
        assert client.get("/refuse").json() == {
            "detail": "not enough S1",
            "code": "insufficient_stock",
        }
        missing = client.get("/nowhere")
        assert missing.status_code == 404
        assert missing.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [{"quantity": "1"}, {"quantity": 0}, {"quantity": 1, "extra": True}, {}],
    ids=["string", "zero", "extra", "missing"],
)
def test_validation_errors_are_problems_as_documented(body: dict[str, Any]) -> None:
    app = _app()
    with TestClient(app) as client:
        response = client.post("/things", json=body)
        spec = client.get("/openapi.json").json()
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert isinstance(problem["detail"], str)
    assert problem["detail"].startswith("body")
    documented = spec["paths"]["/things"]["post"]["responses"]["422"]
    assert documented["content"]["application/json"]["schema"]["$ref"].endswith("/Problem")


def test_request_id_is_assigned_or_echoed() -> None:
    with TestClient(_app()) as client:
        assigned = client.get("/healthz").headers["x-request-id"]
        echoed = client.get("/healthz", headers={"X-Request-ID": "mine"}).headers["x-request-id"]
        failed = client.get("/down", headers={"X-Request-ID": "bad-day"})
    assert len(assigned) == 32
    assert echoed == "mine"
    assert failed.headers["x-request-id"] == "bad-day"


def test_incoming_trace_is_continued() -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with TestClient(_app()) as client:
        response = client.get("/healthz", headers={"traceparent": parent})
    assert response.headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    assert response.headers["traceparent"] != parent  # a new span of the same trace


def test_metrics_count_requests_by_route_template() -> None:
    with TestClient(_app()) as client:
        client.get("/refuse")
        client.get("/refuse")
        text = client.get("/metrics").text
    assert 'http_requests_total{method="GET",route="/refuse",status="409"} 2.0' in text


def test_lifecycle_hooks_run_in_order() -> None:
    events: list[str] = []
    lifecycle = Lifecycle(
        on_start=[lambda: events.append("start-1"), lambda: events.append("start-2")],
        on_stop=[lambda: events.append("stop-1"), lambda: events.append("stop-2")],
    )
    with TestClient(_app(lifecycle=lifecycle)):
        assert events == ["start-1", "start-2"]
    assert events == ["start-1", "start-2", "stop-2", "stop-1"]


def test_test_hooks_are_off_by_default() -> None:
    with TestClient(_app()) as client:
        assert client.post("/_test/reset").status_code == 404


def test_test_hooks_when_enabled_stay_out_of_the_openapi() -> None:
    resets: list[bool] = []
    seen: list[dict[str, Any]] = []
    app = _app(hooks=True, reset=lambda: resets.append(True), states={"sku S has N": seen.append})
    with TestClient(app) as client:
        assert client.post("/_test/reset").json() == {"status": "reset"}
        ok = client.post(
            "/_test/provider-states", json={"state": "sku S has N", "params": {"sku": "S"}}
        )
        unknown = client.post("/_test/provider-states", json={"state": "nope"})
        teardown = client.post(
            "/_test/provider-states", json={"state": "nope", "action": "teardown"}
        )
        paths = client.get("/openapi.json").json()["paths"]
    assert resets == [True]
    assert ok.json() == {"result": "ok"}
    assert seen == [{"sku": "S"}]
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "unknown_state"
    assert teardown.status_code == 200
    assert not [p for p in paths if p.startswith("/_test")]
