"""Tokens for fuzzing: the bearer scheme and the token issuer are found in the OpenAPI."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.fuzz.auth import bearer_schemes, obtain_bearer, token_command, token_operation
from harness.fuzz.errors import AuthError
from harness.fuzz.settings import AuthSpec, TokenSpec

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "components": {
        "securitySchemes": {
            "HTTPBearer": {"type": "http", "scheme": "bearer"},
            "Key": {"type": "apiKey", "in": "header", "name": "X-Key"},
        },
        "schemas": {"TokenResponse": {"properties": {"access_token": {"type": "string"}}}},
    },
    "paths": {
        "/api/things": {"post": {"responses": {"201": {"description": "made"}}}},
        "/auth/token": {
            "post": {
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/TokenResponse"}
                            }
                        }
                    }
                }
            }
        },
    },
}


def issuer(seen: list[dict[str, Any]], status: int = 200, body: Any = None) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        import json

        seen.append({"url": str(request.url), "body": json.loads(request.content)})
        return httpx.Response(status, json={"access_token": "t0k"} if body is None else body)

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_the_bearer_scheme_and_the_issuer_are_found() -> None:
    assert bearer_schemes(DOCUMENT) == ["HTTPBearer"]
    assert token_operation(DOCUMENT) == "/auth/token"
    assert token_operation({"paths": {}}) is None


def test_the_token_comes_from_the_issuer_with_the_configured_body() -> None:
    seen: list[dict[str, Any]] = []
    spec = AuthSpec(token=TokenSpec(body={"client_id": "fz", "scopes": ["admin"]}))
    token = obtain_bearer("http://gw", DOCUMENT, spec, issuer(seen))
    assert token == "t0k"
    assert seen == [
        {"url": "http://gw/auth/token", "body": {"client_id": "fz", "scopes": ["admin"]}}
    ]


def test_no_bearer_scheme_no_token_and_a_fixed_one_wins() -> None:
    seen: list[dict[str, Any]] = []
    assert obtain_bearer("http://svc", {"paths": {}}, None, issuer(seen)) is None
    assert obtain_bearer("http://gw", DOCUMENT, AuthSpec(bearer="fixed"), issuer(seen)) == "fixed"
    assert seen == []


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [(403, {"detail": "no"}, "answered 403"), (200, {"token": "x"}, "no 'access_token'")],
)
def test_an_unusable_issuer_is_an_error(status: int, body: Any, message: str) -> None:
    with pytest.raises(AuthError, match=message):
        obtain_bearer("http://gw", DOCUMENT, None, issuer([], status, body))


def test_a_bearer_scheme_without_issuer_asks_for_configuration() -> None:
    document = {**DOCUMENT, "paths": {}}
    with pytest.raises(AuthError, match=r"auth\.token\.path or auth\.bearer"):
        obtain_bearer("http://gw", document, None, issuer([]))


def test_replays_get_their_token_the_same_way() -> None:
    line = token_command("http://gw", TokenSpec(body={"client_id": "fz"}), "/auth/token")
    assert line is not None
    assert line.startswith("export HARNESS_TOKEN=$(curl -s -X POST")
    assert '-d \'{"client_id":"fz"}\' http://gw/auth/token' in line
