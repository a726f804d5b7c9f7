"""Fixes for what fuzzing found in the shared code (pytest --fuzz, issue 5)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sample_services.common.app import create_service_app
from sample_services.common.metrics import ServiceMetrics
from sample_services.common.numbers import JsonInt
from sample_services.common.settings import ServiceSettings
from sample_services.common.tracing import make_tracer


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    count: JsonInt = Field(ge=0)


@pytest.mark.parametrize(("given", "parsed"), [(3, 3), (3.0, 3), (0.0, 0), (1e3, 1000)])
def test_integral_json_numbers_are_integers(given: Any, parsed: int) -> None:
    # JSON Schema (the OpenAPI's "integer") counts 3.0 as an integer: so do the services.
    value = Strict.model_validate_json(f'{{"count": {given}}}').count
    assert value == parsed
    assert type(value) is int


@pytest.mark.parametrize("given", ['"3"', "true", "3.5", "-1.0", "1e400", "NaN"])
def test_other_values_stay_refused(given: str) -> None:
    with pytest.raises(ValidationError):
        Strict.model_validate_json(f'{{"count": {given}}}')


def test_integral_numbers_keep_the_published_schema() -> None:
    assert Strict.model_json_schema()["properties"]["count"] == {
        "minimum": 0,
        "title": "Count",
        "type": "integer",
    }


def _two_routes_one_path() -> FastAPI:
    settings = ServiceSettings()
    app = create_service_app(
        "svc",
        settings,
        readiness={},
        metrics=ServiceMetrics("svc"),
        tracer=make_tracer("svc"),
    )

    @app.get("/things/{thing}")
    def read(thing: str) -> dict[str, str]:
        return {"thing": thing}

    @app.put("/things/{thing}")
    def write(thing: str) -> dict[str, str]:
        return {"thing": thing}

    return app


def test_405_lists_every_method_of_the_path() -> None:
    # Starlette named only the first route's methods (Allow: GET) for OPTIONS.
    with TestClient(_two_routes_one_path()) as client:
        response = client.options("/things/a")
        assert response.status_code == 405
        assert response.headers["Allow"] == "GET, PUT"
        assert response.json()["code"] == "method_not_allowed"
        assert client.delete("/things/a").headers["Allow"] == "GET, PUT"


def test_paths_missing_from_the_openapi_keep_starlettes_allow() -> None:
    with TestClient(_two_routes_one_path()) as client:
        response = client.post("/metrics")
        assert response.status_code == 405
        assert "GET" in response.headers["Allow"]
