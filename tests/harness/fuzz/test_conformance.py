"""The conformance checks find the defects they are for, on a purpose-built pair of apps.

``vault`` (apps/vault.py) is a secured service calling ``ledger`` through Toxiproxy, like a
gateway and its backend; each test switches one planted defect on (``BUGS``) and shows
the check that finds it, with a reproduction; the clean pair passes every check. Nothing
here is written for the apps: the checks read their OpenAPI and the settings below.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.fleet.launch import launch
from harness.fleet.lifecycle import Fleet
from harness.fuzz.findings import Finding, FuzzRun
from harness.fuzz.session import FuzzSession

from .conftest import REPO, SEED, app_service, fuzz_settings

pytestmark = pytest.mark.slow

SECRET = "vault-fuzz-test-secret-0123456789abcdef0123456789"
StartVault = Callable[[str], Fleet]


@pytest.fixture
def start_vault(tmp_path: Path) -> Iterator[StartVault]:
    """The vault and its ledger, proxied (the edge vault->ledger has a Toxiproxy proxy)."""
    started: list[Fleet] = []

    def start(bugs: str) -> Fleet:
        manifest = {
            "version": 1,
            "name": "vaultbed",
            "root": str(REPO),
            "services": {
                "ledger": app_service("ledger", openapi=None),
                "vault": app_service(
                    "vault",
                    env={"BUGS": bugs, "VAULT_SECRET": SECRET},
                    calls={"ledger": {"env": "LEDGER_URL"}},
                ),
            },
        }
        path = tmp_path / f"vault-{len(started)}.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        fleet = launch(path, temp_parent=tmp_path, proxied=True)
        started.append(fleet)
        return fleet

    yield start
    for fleet in started:
        fleet.close()


def settings(tmp_path: Path, **extra: Any) -> Any:
    vault: dict[str, Any] = {
        "auth": {
            "token": {"path": "/auth/token", "body": {"client_id": "fuzz", "scopes": ["admin"]}},
            # The public entry: every route, whatever its OpenAPI still declares.
            "entry": True,
            "signing": {"algorithm": "HS256", "key_env": "VAULT_SECRET"},
        },
        "idempotency": {"operations": {"POST /items": {"probe": "GET /stats"}}},
    }
    return fuzz_settings(
        tmp_path,
        max_examples=15,
        proxied=True,
        conformance={"backend_traffic": True},
        services={"vault": vault},
        **extra,
    )


def conformance_run(fleet: Fleet, tmp_path: Path) -> FuzzRun:
    session = FuzzSession(fleet, settings(tmp_path), seed=SEED)
    session.open()
    try:
        return session.run_all()
    finally:
        session.close()


def ours(run: FuzzRun, check: str) -> list[Finding]:
    return [f for f in run.new_findings if f.check == check]


def status_of(curl: str) -> str:
    done = subprocess.run(
        ["bash", "-c", f"{curl} -o /dev/null -w '%{{http_code}}'"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.stdout.strip()


def test_the_clean_vault_passes_every_conformance_check(
    start_vault: StartVault, tmp_path: Path
) -> None:
    run = conformance_run(start_vault(""), tmp_path)
    checks = {r.target.operation: r for r in run.results if r.target.check}
    assert sorted(checks) == ["auth", "idempotency"]
    for result in checks.values():
        assert result.cases > 0, result.to_dict()
        assert result.passed, [f.to_dict() for f in result.findings] + result.errors
    auth = checks["auth"]
    # The refusals were judged on resources that exist: GET /items/{id} had a 2xx exemplar.
    assert not any("GET /items/{item_id}" in note for note in auth.notes), auth.notes
    assert not any("backend traffic not checked" in note for note in auth.notes)


def test_a_route_that_skips_auth_is_found_though_it_answers_404_for_unknown_ids(
    start_vault: StartVault, tmp_path: Path
) -> None:
    run = conformance_run(start_vault("skip_auth"), tmp_path)
    found = [f for f in ours(run, "auth_conformance") if f.operation == "GET /items/{item_id}"]
    variants = {f.signature for f in found}
    assert {"no_credentials", "malformed", "wrong_key", "alg_none", "expired"} <= variants
    missing = next(f for f in found if f.signature == "no_credentials")
    # On an item the fuzzing created: the refusal that should be 401 is a 200.
    assert missing.status == 200
    assert "Authorization" not in missing.curl
    assert status_of(missing.curl) == "200"


def test_an_expired_token_accepted_is_found(start_vault: StartVault, tmp_path: Path) -> None:
    run = conformance_run(start_vault("expired_accepted"), tmp_path)
    found = ours(run, "auth_conformance")
    assert found
    assert {f.signature for f in found} == {"expired"}
    assert "expected: 401" in found[0].message
    assert status_of(found[0].curl).startswith("2")


def test_alg_none_accepted_is_found(start_vault: StartVault, tmp_path: Path) -> None:
    run = conformance_run(start_vault("alg_none_accepted"), tmp_path)
    found = ours(run, "auth_conformance")
    assert found
    assert {f.signature for f in found} == {"alg_none"}


def test_an_ignored_idempotency_key_is_found_as_two_effects(
    start_vault: StartVault, tmp_path: Path
) -> None:
    run = conformance_run(start_vault("ignore_key"), tmp_path)
    checks = {f.check for f in run.new_findings if f.operation == "POST /items"}
    # The replay made a second item (another id), the probe read changed, and the pair
    # raced into two items.
    assert {"idempotency_replay", "idempotency_effect", "idempotency_concurrent"} <= checks
    replay = next(f for f in run.new_findings if f.check == "idempotency_replay")
    assert replay.curl.count("Idempotency-Key") == 2  # first request, then the replay
    assert "$HARNESS_TOKEN" in replay.curl


def test_a_refused_request_that_called_a_backend_is_found(
    start_vault: StartVault, tmp_path: Path
) -> None:
    run = conformance_run(start_vault("backend_before_auth"), tmp_path)
    found = ours(run, "auth_before_backend")
    assert found
    assert {f.operation for f in found} == {"GET /stats"}
    # Each refused variant called the ledger, and answered 401 all the same.
    assert all(f.status == 401 for f in found)
    assert "vault->ledger" in found[0].message
    assert not ours(run, "auth_conformance")


def test_every_request_is_bounded_and_a_hang_is_a_finding(
    start_vault: StartVault, tmp_path: Path
) -> None:
    fleet = start_vault("")
    spec = settings(tmp_path).spec.model_copy(update={"request_timeout": 0.5})
    session = FuzzSession(
        fleet, settings(tmp_path).__class__(tmp_path, spec, tmp_path / "b.json"), seed=SEED
    )
    session.open()
    try:
        for target in session.targets:
            if target.check is None:
                session.run(target)  # the requests the idempotency check replays
        # The ledger stops answering: POST /items waits on it, beyond the bound.
        with fleet.edge("vault->ledger").timeout(0):
            targets = [t for t in session.targets if t.check == "idempotency"]
            result = session.run(targets[0]) if targets else None
    finally:
        session.close()
    assert result is not None
    hangs = [f for f in result.findings if f.check == "request_bound"]
    assert hangs, result.to_dict()
    assert "--max-time 0.5" in hangs[0].curl
    assert shlex.split(hangs[0].curl.splitlines()[0])[0] == "curl"
