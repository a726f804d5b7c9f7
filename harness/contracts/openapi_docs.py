"""OpenAPI documents: fetched from a running service, or the committed baseline."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from harness.contracts.errors import ContractError
from harness.httpbody import describe_body

_TIMEOUT = httpx.Timeout(10.0, connect=2.0)


def fetch_openapi(base_url: str, path: str) -> dict[str, Any]:
    url = base_url.rstrip("/") + path
    try:
        with httpx.Client(timeout=_TIMEOUT, trust_env=False) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        raise ContractError(f"GET {url}: {exc!r}") from exc
    if response.status_code != 200:
        raise ContractError(f"GET {url} answered {response.status_code}: {describe_body(response)}")
    try:
        document = response.json()
    except ValueError as exc:
        raise ContractError(f"GET {url}: not JSON: {exc}") from exc
    if not isinstance(document, dict) or "paths" not in document:
        raise ContractError(f"GET {url}: not an OpenAPI document (no `paths`)")
    return document


def read_baseline(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ContractError(f"{path}: {exc}") from exc
    if not isinstance(document, dict):
        raise ContractError(f"{path}: not an OpenAPI document")
    return document


def write_baseline(path: Path, document: Mapping[str, Any]) -> bool:
    """Write the baseline (sorted keys, so a regenerated one diffs cleanly); True if changed."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
