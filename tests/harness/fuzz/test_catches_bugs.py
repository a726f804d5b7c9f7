"""Fuzzing finds planted bugs in a real service process, and nothing in a clean one.

The service (apps/notes.py) is started from a manifest like any fleet; fuzzing gets its
OpenAPI and its token on its own (no code for it): exactly what `harness fuzz` does.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.fuzz.baseline import Baseline
from harness.fuzz.findings import Finding, FuzzRun, describe_result
from harness.fuzz.seeds import Seed
from harness.fuzz.session import FuzzSession
from harness.fuzz.targets import FuzzTarget

from .conftest import SEED, StartFleet, app_service, fuzz_settings

pytestmark = pytest.mark.slow

ALL_BUGS = "server_error,use_after_free,ignored_auth"


def fuzz(
    fleet: object, tmp_path: Path, *, baseline: Baseline | None = None, seed: Seed = SEED
) -> tuple[FuzzSession, FuzzRun]:
    settings = fuzz_settings(tmp_path, max_examples=25)
    session = FuzzSession(fleet, settings, seed=seed, baseline=baseline)  # type: ignore[arg-type]
    session.open()
    try:
        return session, session.run_all()
    finally:
        session.close()


def only(findings: list[Finding], check: str) -> Finding:
    found = [f for f in findings if f.check == check]
    assert found, f"no {check} finding in {[f.check for f in findings]}"
    return found[0]


def run_shell(script: str) -> str:
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.strip()


def test_planted_bugs_are_found_with_reproductions(start_fleet: StartFleet, tmp_path: Path) -> None:
    fleet = start_fleet({"notes": app_service("notes", env={"BUGS": ALL_BUGS})})
    session, run = fuzz(fleet, tmp_path)

    assert not run.passed
    # One item per operation, one for the stateful phase and one for the auth conformance
    # check (the OpenAPI declares a bearer scheme), all from the OpenAPI.
    assert [r.target.id for r in run.results] == [
        "notes POST /auth/token",
        "notes POST /notes",
        "notes GET /notes/{note_id}",
        "notes DELETE /notes/{note_id}",
        "notes stateful",
        "notes auth",
    ]

    crash = only(run.new_findings, "not_a_server_error")
    assert (crash.operation, crash.status) == ("POST /notes", 500)
    # The curl line reproduces the 500, with a token fetched the way the run got one.
    result = next(r for r in run.results if crash in r.findings)
    assert result.token_setup is not None
    assert '"priority": 10' in crash.curl
    status = run_shell(f"{result.token_setup}\n{crash.curl} -s -o /dev/null -w '%{{http_code}}'")
    assert status == "500"
    text = describe_result(result, session.replay_for(result.target))
    assert crash.curl in text
    assert f"harness fuzz --seed {SEED.value} --service notes --operation 'POST /notes'" in text

    freed = only(run.new_findings, "use_after_free")
    assert freed.operation == "DELETE /notes/{note_id}"
    assert "DELETE" in freed.curl  # the sequence: create, delete, read again

    ignored = only(run.new_findings, "ignored_auth")
    assert ignored.operation == "GET /notes/{note_id}"


def test_a_clean_service_passes(start_fleet: StartFleet, tmp_path: Path) -> None:
    fleet = start_fleet({"notes": app_service("notes")})
    _, run = fuzz(fleet, tmp_path)

    assert run.new_findings == []
    assert run.errors == []
    assert run.passed
    # At least max_examples per operation with an input space larger than that.
    cases = {r.target.operation: r.cases for r in run.results}
    assert cases["POST /notes"] >= 25
    assert cases["stateful"] > 0


def test_the_baseline_lets_only_new_failures_fail(start_fleet: StartFleet, tmp_path: Path) -> None:
    fleet = start_fleet({"notes": app_service("notes", env={"BUGS": "server_error"})})
    _, first = fuzz(fleet, tmp_path)
    # The 500 fails two checks: it is a server error, and a status the OpenAPI omits.
    crashes = {"not_a_server_error", "status_code_conformance"}
    assert {f.check for f in first.new_findings} == crashes
    known = Baseline(path=tmp_path / "baseline.json").updated(first.new_findings)
    known.save()

    # Another seed draws other inputs: the failure is still the known one.
    _, again = fuzz(
        fleet, tmp_path, baseline=Baseline.load(known.path or Path()), seed=Seed(7, "test", True)
    )
    assert again.new_findings == []
    assert {f.check for f in again.known_findings} == crashes
    assert again.passed

    # A new bug next to the known one fails the run, with only the new one reported.
    fleet = start_fleet({"notes": app_service("notes", env={"BUGS": "server_error,ignored_auth"})})
    _, worse = fuzz(fleet, tmp_path, baseline=Baseline.load(known.path or Path()))
    assert not worse.passed
    # Schemathesis' ignored_auth, and the harness' own auth check (the token variants).
    assert {f.check for f in worse.new_findings} == {"ignored_auth", "auth_conformance"}


def test_one_seed_replays_one_operation(start_fleet: StartFleet, tmp_path: Path) -> None:
    fleet = start_fleet({"notes": app_service("notes", env={"BUGS": "server_error"})})
    settings = fuzz_settings(tmp_path, max_examples=25)
    target = FuzzTarget("notes", "POST", "/notes")
    outcomes = []
    for _ in range(2):
        session = FuzzSession(fleet, settings, seed=Seed(99, "test", False))  # type: ignore[arg-type]
        session.open()
        result = session.run(target)
        session.close()
        outcomes.append((result.cases, [(f.check, f.curl) for f in result.findings]))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1], "the planted 500 is found"
