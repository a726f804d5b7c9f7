"""Bearer tokens for fuzzing: found in the OpenAPI, fetched from the service's token issuer.

A service that declares an HTTP bearer scheme is fuzzed with a token, so the checks reach
past the 401 (and ``ignored_auth`` has a token to withhold). Where the token comes from:
``auth.bearer`` in fuzz.yaml, else a POST to ``auth.token.path``, else to the operation
of the service's own OpenAPI whose answer carries an ``access_token``.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

import httpx

from harness.fuzz.errors import AuthError
from harness.fuzz.settings import AuthSpec, TokenSpec
from harness.httpbody import describe_body


def bearer_schemes(document: Mapping[str, Any]) -> list[str]:
    """Names of the HTTP bearer security schemes an OpenAPI document declares."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    return sorted(
        name
        for name, scheme in schemes.items()
        if isinstance(scheme, Mapping)
        and scheme.get("type") == "http"
        and str(scheme.get("scheme", "")).lower() == "bearer"
    )


def _resolve(document: Mapping[str, Any], schema: Any) -> Mapping[str, Any]:
    seen = 0
    while isinstance(schema, Mapping) and "$ref" in schema and seen < 20:
        ref = str(schema["$ref"])
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        schema, seen = node, seen + 1
    return schema if isinstance(schema, Mapping) else {}


def token_operation(document: Mapping[str, Any], field: str = "access_token") -> str | None:
    """The path of the POST operation whose 2xx JSON answer has ``field`` (a token issuer)."""
    for path, item in document.get("paths", {}).items():
        post = item.get("post") if isinstance(item, Mapping) else None
        if not isinstance(post, Mapping):
            continue
        for status, response in post.get("responses", {}).items():
            if not str(status).startswith("2"):
                continue
            content = _resolve(document, response).get("content", {})
            schema = _resolve(document, content.get("application/json", {}).get("schema", {}))
            if field in schema.get("properties", {}):
                return str(path)
    return None


def fetch_token(base_url: str, spec: TokenSpec, path: str, http: httpx.Client) -> str:
    url = base_url.rstrip("/") + path
    try:
        response = http.post(url, json=spec.body)
    except httpx.HTTPError as exc:
        raise AuthError(f"POST {url}: {exc}") from exc
    if response.status_code >= 300:
        raise AuthError(f"POST {url} answered {response.status_code}: {describe_body(response)}")
    try:
        token = response.json()[spec.field]
    except (ValueError, KeyError, TypeError):
        raise AuthError(f"POST {url}: no '{spec.field}' in {describe_body(response)}") from None
    if not isinstance(token, str) or not token:
        raise AuthError(f"POST {url}: '{spec.field}' is not a non-empty string")
    return token


def obtain_bearer(
    base_url: str, document: Mapping[str, Any], auth: AuthSpec | None, http: httpx.Client
) -> str | None:
    """The token to fuzz a service with, or None when it declares no bearer scheme."""
    if auth is not None and auth.bearer:
        return auth.bearer
    if not bearer_schemes(document):
        return None
    spec = (auth.token if auth is not None else None) or TokenSpec()
    path = spec.path or token_operation(document, spec.field)
    if path is None:
        raise AuthError(
            "the OpenAPI declares a bearer scheme but no operation issues tokens: set "
            "auth.token.path or auth.bearer for this service in fuzz.yaml"
        )
    return fetch_token(base_url, spec, path, http)


def token_command(base_url: str, spec: TokenSpec | None, path: str | None) -> str | None:
    """A shell line that sets $HARNESS_TOKEN the way the run got its token (for replays)."""
    if path is None:
        return None
    body = json.dumps((spec or TokenSpec()).body, separators=(",", ":"))
    field = (spec or TokenSpec()).field
    url = base_url.rstrip("/") + path
    return (
        f"export HARNESS_TOKEN=$(curl -s -X POST -H 'Content-Type: application/json' "
        f"-d {shlex.quote(body)} {url} | python3 -c "
        f"'import json,sys; print(json.load(sys.stdin)[\"{field}\"])')"
    )
