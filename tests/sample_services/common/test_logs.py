"""JSON log lines carry the service, the request id and the trace id."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sample_services.common import context
from sample_services.common.app import create_service_app
from sample_services.common.logs import configure_logging
from sample_services.common.metrics import ServiceMetrics
from sample_services.common.settings import ServiceSettings
from sample_services.common.tracing import make_tracer


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging owns the root logger; give pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    access = logging.getLogger("uvicorn.access")
    access_disabled = access.disabled
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    access.disabled = access_disabled


def _lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


@pytest.mark.usefixtures("restore_logging")
def test_log_lines_are_json_with_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("svc-a", "INFO")
    token = context.request_id.set("rid-123")
    try:
        logging.getLogger("sample_services.test").info("hello", extra={"sku": "S1"})
    finally:
        context.request_id.reset(token)
    logging.getLogger("sample_services.test").info("outside")
    inside, outside = _lines(capsys.readouterr().err)
    assert inside["message"] == "hello"
    assert inside["request_id"] == "rid-123"
    assert inside["service"] == "svc-a"
    assert inside["level"] == "INFO"
    assert inside["logger"] == "sample_services.test"
    assert inside["sku"] == "S1"
    assert "ts" in inside
    assert outside["request_id"] is None


@pytest.mark.usefixtures("restore_logging")
def test_level_filters_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("svc-a", "warning")
    logging.getLogger("x").info("quiet")
    logging.getLogger("x").warning("loud")
    assert [line["message"] for line in _lines(capsys.readouterr().err)] == ["loud"]


@pytest.mark.usefixtures("restore_logging")
def test_request_log_line_carries_request_and_trace_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("svc-b", "INFO")
    app = create_service_app(
        "svc-b",
        ServiceSettings(),
        readiness={},
        metrics=ServiceMetrics("svc-b"),
        tracer=make_tracer("svc-b"),
    )

    @app.get("/thing")
    def thing() -> dict[str, str]:
        logging.getLogger("sample_services.handler").info("inside the handler")
        return {"ok": "yes"}

    with TestClient(app) as client:
        response = client.get("/thing", headers={"X-Request-ID": "rid-abc"})
    trace_id = response.headers["traceparent"].split("-")[1]
    lines = {line["message"]: line for line in _lines(capsys.readouterr().err)}
    handler, request = lines["inside the handler"], lines["request"]
    assert handler["request_id"] == request["request_id"] == "rid-abc"
    assert handler["trace_id"] == request["trace_id"] == trace_id
    assert request["status"] == 200
    assert request["path"] == "/thing"
