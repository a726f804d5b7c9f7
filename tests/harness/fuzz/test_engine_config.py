"""What Schemathesis is told: checks, documented business answers, auth, reproducibility."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis

from harness.fuzz.schemathesis_engine import engine_config
from harness.fuzz.seeds import Seed
from harness.fuzz.targets import FuzzTarget, ServiceTarget, plan_targets

from .conftest import fuzz_settings

PAYMENTS: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "payments", "version": "1"},
    "paths": {
        "/payments": {
            "post": {
                "responses": {"201": {}, "400": {}, "402": {}, "404": {}, "409": {}, "422": {}}
            },
            "get": {"responses": {"200": {}, "422": {}}},
        },
        "/healthz": {"get": {"responses": {"200": {}}}},
    },
}


def service(document: dict[str, Any] = PAYMENTS, bearer: str | None = None) -> ServiceTarget:
    return ServiceTarget(
        "payments", "http://127.0.0.1:1", "http://127.0.0.1:1/openapi.json", document, bearer
    )


def config(
    tmp_path: Path, target: ServiceTarget, run_stateful: bool = False, **spec: Any
) -> dict[str, Any]:
    settings = fuzz_settings(tmp_path, **spec)
    return engine_config(
        target, settings, seed=Seed(5, "test", True), max_examples=30, stateful=run_stateful
    )


def test_documented_business_answers_count_as_acceptance(tmp_path: Path) -> None:
    built = config(tmp_path, service())
    post = next(op for op in built["operations"] if op["include-method"] == "POST")
    expected = post["checks"]["positive_data_acceptance"]["expected-statuses"]
    assert 402 in expected  # insufficient_funds is the API's answer to valid data
    assert 400 not in expected
    assert 422 not in expected
    schemathesis.Config.from_dict(built)  # Schemathesis accepts what we build


def test_reproducibility_settings(tmp_path: Path) -> None:
    built = config(tmp_path, service())
    assert built["seed"] == 5
    assert built["generation"] == {"max-examples": 30, "deterministic": True, "database": "none"}
    assert built["continue-on-failure"] is True
    assert built["cache"] == {"enabled": False}
    # An Idempotency-Key stays in the curl lines: without it they reproduce nothing.
    assert "key" not in built["output"]["sanitization"]["sensitive-markers"]


def test_unit_and_stateful_runs_split_the_phases(tmp_path: Path) -> None:
    unit = config(tmp_path, service())["phases"]
    stateful = config(
        tmp_path, service(), run_stateful=True, stateful={"max_examples": 3, "max_steps": 4}
    )["phases"]
    assert [unit[p]["enabled"] for p in ("examples", "coverage", "fuzzing", "stateful")] == [
        True,
        True,
        True,
        False,
    ]
    assert [stateful[p]["enabled"] for p in ("examples", "coverage", "fuzzing", "stateful")] == [
        False,
        False,
        False,
        True,
    ]
    assert stateful["stateful"]["max-steps"] == 4
    assert stateful["stateful"]["generation"] == {"max-examples": 3}


def test_exclusions_and_checks(tmp_path: Path) -> None:
    spec = {
        "services": {
            "payments": {
                "exclude_checks": {"ignored_auth": "payments has no auth to ignore"},
                "operations": {
                    "GET /payments": {"exclude_checks": {"use_after_free": "list only, no DELETE"}}
                },
            }
        }
    }
    built = config(tmp_path, service(), **spec)
    assert "ignored_auth" not in built["checks"]
    assert built["checks"]["not_a_server_error"] == {"enabled": True}
    get = next(
        op
        for op in built["operations"]
        if op["include-method"] == "GET" and op["include-path"] == "/payments"
    )
    assert get["checks"]["use_after_free"] == {"enabled": False}


def test_a_token_goes_to_every_bearer_scheme(tmp_path: Path) -> None:
    document = {
        **PAYMENTS,
        "components": {"securitySchemes": {"JWT": {"type": "http", "scheme": "bearer"}}},
    }
    built = config(tmp_path, service(document, bearer="t0k"))
    assert built["auth"] == {"openapi": {"JWT": {"bearer": "t0k"}}}
    assert "auth" not in config(tmp_path, service())


def test_targets_follow_the_openapi(tmp_path: Path) -> None:
    settings = fuzz_settings(
        tmp_path,
        services={"payments": {"operations": {"GET /healthz": {"skip": "a liveness probe only"}}}},
    )
    targets = plan_targets([service()], settings)
    assert [t.id for t in targets] == [
        "payments POST /payments",
        "payments GET /payments",
        "payments stateful",
    ]
    assert FuzzTarget("payments").stateful
    assert (
        plan_targets([service()], fuzz_settings(tmp_path, stateful={"enabled": False}))[-1].id
        == "payments GET /healthz"
    )
