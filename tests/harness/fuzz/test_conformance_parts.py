"""The conformance checks' parts on their own: settings, token variants, planning, counters."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from harness.fuzz.errors import AuthError, FuzzFileError
from harness.fuzz.settings import FuzzFile, FuzzSettings, SigningSpec, load_settings
from harness.fuzz.targets import (
    FuzzTarget,
    ServiceTarget,
    idempotent_operations,
    plan_targets,
    required_scopes,
    secured_operations,
)
from harness.fuzz.tokens import TokenForge, TokenVariant, signing_key
from harness.fuzz.traffic import EdgeTraffic

SECRET = "a-test-secret-for-the-token-forge-0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "version: 1\nconformance: {backend_traffic: true}\n",
            "fuzz.yaml:2: conformance.backend_traffic: needs proxied: true",
        ),
        (
            "version: 1\nservices:\n  gw:\n    auth:\n      signing: {algorithm: HS256}\n",
            "fuzz.yaml:5: services.gw.auth.signing.key_env: give exactly one of key_env",
        ),
        (
            "version: 1\nservices:\n  gw:\n    auth:\n"
            "      signing: {algorithm: RS256, key_env: K}\n",
            "services.gw.auth.signing.algorithm: RS256 needs key_file_env",
        ),
        (
            "version: 1\nservices:\n  gw:\n    auth:\n      public: [healthz]\n",
            "fuzz.yaml:5: services.gw.auth.public[0]: String should match pattern",
        ),
        (
            "version: 1\nrequest_timeout: 0\n",
            "fuzz.yaml:2: request_timeout: Input should be greater than 0",
        ),
    ],
)
def test_bad_conformance_settings_name_file_line_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text)
    with pytest.raises(FuzzFileError) as failed:
        load_settings(tmp_path, path=path, services=["gw"])
    assert expected in str(failed.value)


def test_every_request_is_bounded_by_default_within_a_few_seconds(tmp_path: Path) -> None:
    assert 1 <= load_settings(tmp_path).spec.request_timeout <= 5


def forge(now: float | None = None) -> TokenForge:
    now = time.time() if now is None else now
    good = jwt.encode(
        {"sub": "fuzz", "scope": "read admin", "exp": int(now) + 60}, SECRET, algorithm="HS256"
    )
    return TokenForge(good, signing=SigningSpec(key_env="K"), key=SECRET, clock=lambda: now)


def decoded(variant: TokenVariant | str) -> dict[str, Any]:
    assert isinstance(variant, TokenVariant)
    assert variant.authorization is not None
    token = variant.authorization.removeprefix("Bearer ")
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_each_variant_breaks_one_thing_of_the_good_token() -> None:
    made = forge()
    assert made.variant("no_credentials") == TokenVariant("no_credentials", None, 401)
    expired = decoded(made.variant("expired"))
    assert expired["exp"] < time.time() - 60  # beyond any leeway
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(made.variant("expired").authorization.split()[1], SECRET, algorithms=["HS256"])  # type: ignore[union-attr]
    wrong = made.variant("wrong_key")
    assert isinstance(wrong, TokenVariant)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            wrong.authorization.split()[1],  # type: ignore[union-attr]
            SECRET,
            algorithms=["HS256"],
            options={"verify_exp": False},
        )
    none = made.variant("alg_none")
    assert isinstance(none, TokenVariant)
    token = none.authorization.split()[1]  # type: ignore[union-attr]
    assert jwt.get_unverified_header(token)["alg"] == "none"
    assert token.endswith(".")
    assert decoded(made.variant("wrong_audience"))["aud"] == "harness-wrong-audience"
    scoped = made.variant("missing_scope", ["admin"])
    assert isinstance(scoped, TokenVariant)
    assert scoped.expect == 403
    assert decoded(scoped)["scope"] == "read"
    # The signed control is valid for the service's key.
    good = made.signed_good()
    assert good is not None
    assert jwt.decode(good, SECRET, algorithms=["HS256"])["sub"] == "fuzz"


def test_without_a_key_the_variants_that_need_it_say_why() -> None:
    made = TokenForge(None)
    assert isinstance(made.variant("alg_none"), TokenVariant)
    assert made.variant("expired") == "no signing key configured (auth.signing in fuzz.yaml)"
    assert made.signed_good() is None


def test_the_key_comes_from_the_service_environment(tmp_path: Path) -> None:
    spec = SigningSpec(key_env="JWT_SECRET")
    assert signing_key(spec, {"JWT_SECRET": SECRET}, tmp_path) == SECRET
    with pytest.raises(AuthError, match="JWT_SECRET is not set"):
        signing_key(spec, {}, tmp_path)


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/auth/token": {"post": {"responses": {}}},
        "/healthz": {"get": {"responses": {}}},
        "/items": {
            "post": {
                "security": [{"bearer": []}],
                "parameters": [{"name": "idempotency-key", "in": "header"}],
                "responses": {},
            }
        },
        "/items/{id}": {
            "get": {"responses": {}},  # lost its guard (and its scheme)
            "delete": {"security": [{"bearer": ["admin"]}], "responses": {}},
        },
    },
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
}


def settings(tmp_path: Path, service: dict[str, Any]) -> FuzzSettings:
    spec = FuzzFile.model_validate({"version": 1, "services": {"vault": service}})
    return FuzzSettings(root=tmp_path, spec=spec, baseline=tmp_path / "b.json")


def test_planning_follows_the_openapi_and_the_settings(tmp_path: Path) -> None:
    service = ServiceTarget("vault", "http://x", "http://x/o", DOCUMENT, "t", "/auth/token")
    plain = settings(tmp_path, {})
    assert secured_operations(service, plain) == ["POST /items", "DELETE /items/{id}"]
    entry = settings(tmp_path, {"auth": {"entry": True, "public": ["GET /healthz"]}})
    # A public entry: every route, the one that lost its scheme too; not the token issuer.
    assert secured_operations(service, entry) == [
        "POST /items",
        "GET /items/{id}",
        "DELETE /items/{id}",
    ]
    assert required_scopes(service, plain, "DELETE /items/{id}") == ["admin"]
    assert idempotent_operations(service, plain) == ["POST /items"]
    targets = plan_targets([service], plain)
    assert targets[-2:] == [
        FuzzTarget("vault", check="auth"),
        FuzzTarget("vault", check="idempotency"),
    ]
    assert not targets[-1].stateful
    assert targets[-1].operation == "idempotency"


def sample(metric: str, direction: str, proxy: str, value: int) -> str:
    labels = f'direction="{direction}",listener="a",proxy="{proxy}",upstream="b"'
    return f"toxiproxy_proxy_{metric}_bytes_total{{{labels}}} {value}"


METRICS = "\n".join(
    [
        "# HELP toxiproxy_proxy_received_bytes_total x",
        sample("received", "upstream", "vault__ledger", 120),
        sample("received", "downstream", "vault__ledger", 80),
        sample("sent", "upstream", "vault__ledger", 120),
        sample("received", "upstream", "other__x", 9),
    ]
)


def test_a_window_is_flushed_on_both_sides_and_counts_bytes_per_edge() -> None:
    seen: list[str] = []
    served = iter([METRICS.replace("120", "0").replace("80", "0")] * 2 + [METRICS] * 2)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path == "/metrics":
            return httpx.Response(200, text=next(served))
        return httpx.Response(200, json={})

    http = httpx.Client(transport=httpx.MockTransport(handle))
    traffic = EdgeTraffic("http://toxiproxy", {"vault->ledger": "vault__ledger"}, http)
    started = time.perf_counter()
    with traffic.window() as window:
        pass
    assert time.perf_counter() - started < 5
    assert window.reached == {"vault->ledger": 200}
    # Disabled then enabled (connections closed) before each reading.
    assert seen[:2] == ["PATCH /proxies/vault__ledger", "PATCH /proxies/vault__ledger"]
    assert seen.count("PATCH /proxies/vault__ledger") == 4
