"""Reports of a run: JSON, JUnit (a failure per target with new findings) and Markdown."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.fuzz.findings import Finding, FuzzRun, TargetResult, describe_result
from harness.fuzz.reports import markdown_summary, write_reports
from harness.fuzz.seeds import Seed
from harness.fuzz.targets import FuzzTarget

CURL = "curl -X POST -H 'Content-Type: application/json' -d '{\"priority\": 10}' http://x/notes"


def crash(known: bool = False) -> Finding:
    found = Finding(
        service="notes",
        operation="POST /notes",
        check="not_a_server_error",
        code="ST100",
        title="Server error",
        message="500 Internal Server Error",
        curl=CURL,
        signature="ServerError:500",
        status=500,
    )
    return found.as_known("issue #3") if known else found


def sample_run() -> FuzzRun:
    run = FuzzRun(seed=Seed(11, "given", False), max_examples=50, replay="harness fuzz --seed 11")
    run.results = [
        TargetResult(
            FuzzTarget("notes", "POST", "/notes"), cases=120, seconds=2.0, findings=[crash()]
        ),
        TargetResult(
            FuzzTarget("notes", "GET", "/notes/{id}"),
            cases=100,
            seconds=1.0,
            findings=[crash(known=True)],
        ),
        TargetResult(FuzzTarget("notes"), skipped="stateful phase skipped: not applicable"),
    ]
    run.seconds = 3.0
    return run


def test_a_finding_is_described_with_its_curl_and_replay() -> None:
    result = sample_run().results[0]
    result.token_setup = "export HARNESS_TOKEN=t"
    text = describe_result(result, "harness fuzz --seed 11 --service notes")
    assert text.splitlines()[0] == "notes POST /notes: 1 new failure(s) in 120 cases"
    assert "ST100 Server error [not_a_server_error] at notes POST /notes" in text
    assert CURL in text
    assert "export HARNESS_TOKEN" not in text  # this curl needs no token
    assert "Replay the fuzzing: harness fuzz --seed 11 --service notes" in text


def test_outcomes_and_rates() -> None:
    run = sample_run()
    assert [r.outcome for r in run.results] == ["failed", "known failures", "skipped"]
    assert not run.passed
    assert len(run.new_findings) == 1
    assert len(run.known_findings) == 1
    assert run.service_rates()["notes"] == {
        "cases": 220,
        "seconds": 3.0,
        "cases_per_second": 73.3,
        "operations": 2,
    }


def test_the_three_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    files = write_reports(sample_run(), tmp_path / "fuzz")

    data = json.loads(files.json.read_text())
    assert (data["passed"], data["seed"], data["new_failures"], data["known_failures"]) == (
        False,
        11,
        1,
        1,
    )
    assert data["targets"][0]["findings"][0]["curl"] == CURL

    root = ET.parse(files.junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    failure = root.find("./testsuite/testcase[@name='POST /notes']/failure")
    assert failure is not None
    assert CURL in (failure.text or "")
    known = root.find("./testsuite/testcase[@name='GET /notes/{id}']")
    assert known is not None
    assert known.find("failure") is None
    # Known failures do not fail the case, but stay visible in its output.
    assert CURL in (known.findtext("system-out") or "")

    text = files.markdown.read_text()
    assert text == markdown_summary(sample_run())
    assert text.startswith("<!-- harness:fuzz -->")
    assert "### Fuzzing FAILED: 1 new failure(s), 1 known, 220 cases" in text
    assert "`harness fuzz --seed 11`" in text
    assert summary.read_text() == text


def test_a_run_that_ran_no_case_is_not_a_pass() -> None:
    # Zero work is not a pass: every target skipped, no finding, and still a failure.
    run = FuzzRun(seed=Seed(11, "given", False), max_examples=50)
    assert run.nothing_checked == "no target was run"
    run.results = [
        TargetResult(FuzzTarget("notes"), skipped="stateful phase skipped: no links"),
        TargetResult(FuzzTarget("shop"), skipped="stateful phase skipped: no links"),
    ]
    assert not run.new_findings
    assert not run.passed
    assert run.nothing_checked == (
        "no case was run in 2 target(s) (stateful phase skipped: no links)"
    )
    assert run.to_dict()["passed"] is False
    assert "zero work is not a pass" in markdown_summary(run)
    run.results.append(TargetResult(FuzzTarget("notes", "GET", "/notes"), cases=3))
    assert run.passed
    assert run.nothing_checked is None
