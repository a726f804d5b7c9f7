"""Helpers for the tests of harness.contracts: small pact documents and the repo's files."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
BASELINES = ROOT / "contracts" / "openapi"
PACTS = ROOT / "contracts" / "pacts"


def http_interaction(
    description: str,
    *,
    method: str = "GET",
    path: str = "/stock/SKU-1",
    status: int = 200,
    body: Any = None,
    request_body: Any = None,
    headers: dict[str, list[str]] | None = None,
    query: dict[str, list[str]] | None = None,
    states: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {"method": method, "path": path}
    if request_body is not None:
        request["body"] = {"content": request_body, "contentType": "application/json"}
    if headers:
        request["headers"] = headers
    if query:
        request["query"] = query
    response: dict[str, Any] = {"status": status}
    if body is not None:
        response["body"] = {"content": body, "contentType": "application/json"}
    return {
        "type": "Synchronous/HTTP",
        "description": description,
        "providerStates": states or [],
        "request": request,
        "response": response,
    }


def pact_document(consumer: str, provider: str, *interactions: dict[str, Any]) -> dict[str, Any]:
    return {
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": list(interactions),
        "metadata": {
            "pactRust": {"ffi": "0.5.12", "models": "1.3.16"},
            "pactSpecification": {"version": "4.0"},
        },
    }


def write_pact(directory: Path, document: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{document['consumer']['name']}-{document['provider']['name']}.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def baseline(service: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((BASELINES / f"{service}.json").read_text())
    return document


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a throwaway identity (test machines may have none)."""
    done = subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def commit_all(
    repo: Path, message: str = "snapshot", ignore: Iterable[str] = ("__pycache__/",)
) -> str:
    """``git init`` (with ``ignore`` as .gitignore) if needed, commit everything in ``repo``;
    the new commit's full id."""
    if not (repo / ".git").exists():
        git(repo, "init", "-q")
        (repo / ".gitignore").write_text("".join(f"{line}\n" for line in ignore))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")
