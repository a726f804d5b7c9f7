"""A profile's ``setup`` requests (seeding stock, accounts ...), made once before the load.

They go through the same target with the same auth as the users (the token's ``user_id``
is ``setup``), but with httpx from the harness process: they are preparation, not load, and
are not in the statistics. A 429 is waited out as the server asks (``Retry-After``), within
a bound: a gateway limiting per client may refuse a burst of seeding requests.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from harness.httpbody import describe_body
from harness.load import templates
from harness.load.errors import SetupStepError
from harness.load.profiles import LoadProfile, Request

_TIMEOUT = httpx.Timeout(10.0, connect=2.0)
_RETRY_BUDGET_S = 15.0


def _request(
    client: httpx.Client, label: str, step: Request, variables: Mapping[str, Any], token: str | None
) -> httpx.Response:
    headers = dict(templates.render(step.headers, variables))
    if step.auth == "bearer" and token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if step.idempotency_key:
        name = step.idempotency_key if isinstance(step.idempotency_key, str) else "Idempotency-Key"
        headers[name] = str(templates.render("{uuid}", variables))
    path = templates.render(step.path, variables)
    deadline = time.monotonic() + _RETRY_BUDGET_S
    while True:
        try:
            response = client.request(
                step.method,
                path,
                headers=headers,
                params=templates.render(step.query, variables) or None,
                json=templates.render(step.json_body, variables),
            )
        except httpx.HTTPError as exc:
            raise SetupStepError(f"setup {label}: {step.method} {path}: {exc!r}") from exc
        if response.status_code == 429 and time.monotonic() < deadline:
            time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))
            continue
        ok = response.status_code in step.expect if step.expect else response.status_code < 400
        if not ok:
            raise SetupStepError(
                f"setup {label}: {step.method} {path} -> {response.status_code}: "
                f"{describe_body(response)}"
            )
        return response


def _token(client: httpx.Client, profile: LoadProfile, variables: Mapping[str, Any]) -> str:
    auth = profile.auth
    assert auth is not None
    response = client.request(auth.method, auth.path, json=templates.render(auth.body, variables))
    if response.status_code != 200:
        raise SetupStepError(
            f"setup token: {auth.method} {auth.path} -> {response.status_code}: "
            f"{describe_body(response)}"
        )
    try:
        return str(templates.extract(response.json(), auth.field))
    except (ValueError, KeyError):
        raise SetupStepError(
            f"setup token: no '{auth.field}' in {describe_body(response)}"
        ) from None


def run_setup(profile: LoadProfile, base_url: str, run_vars: Mapping[str, Any], run_id: str) -> int:
    """Make every setup request in order; the number made. SetupStepError on the first failure."""
    if not profile.setup:
        return 0
    variables = {**run_vars, "run_id": run_id, "user_id": "setup"}
    variables = {k: templates.render(v, variables) for k, v in variables.items()}
    needs_token = any(step.auth == "bearer" for step in profile.setup)
    # trust_env=False: load goes to 127.0.0.1 (or the profile's URL), never via a proxy.
    with httpx.Client(base_url=base_url, timeout=_TIMEOUT, trust_env=False) as client:
        token = _token(client, profile, variables) if needs_token else None
        for index, step in enumerate(profile.setup):
            label = f"step {index + 1}" + (f" ({step.name})" if step.name else "")
            _request(client, label, step, variables, token)
    return len(profile.setup)
