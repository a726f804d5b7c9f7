"""Report rendering from a synthetic run: structure of the Markdown, JUnit, HTML and JSON,
and the JSON serving as the next run's baseline."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness.cli.exits import EXIT_REGRESSION, EXIT_THRESHOLDS, load_exit_code
from harness.load.outcome import build_result, load_baseline
from harness.load.profiles import load_profile
from harness.load.reports import marker, render_markdown, write_reports

from .conftest import WriteProfile, profile_dict

T0 = 1_800_000_000.0


def locust_entry(
    name: str, method: str, times: dict[int, int], failures: int = 0
) -> dict[str, Any]:
    return {
        "name": name,
        "method": method,
        "num_requests": sum(times.values()),
        "num_none_requests": 0,
        "num_failures": failures,
        "total_response_time": sum(k * v for k, v in times.items()),
        "min_response_time": min(times),
        "max_response_time": max(times),
        "total_content_length": 0,
        "response_times": {str(k): v for k, v in times.items()},
    }


def outputs(
    slow_ms: int, failures: int = 0
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    stats = [
        locust_entry("ok", "GET", {20: 300, 30: 100}, failures=failures),
        locust_entry("slow", "GET", {slow_ms: 100}),
    ]
    result = {
        "started": T0,
        "measure_start": T0 + 1,
        "stopped": T0 + 11,
        "peak_users": 3,
        "workers": 0,
        "errors": [
            {
                "method": "GET",
                "name": "ok",
                "error": "CatchResponseError('HTTP 500 boom')",
                "occurrences": failures,
            }
        ]
        if failures
        else [],
    }
    seconds = {
        str(int(T0) + i): {"requests": 50, "failures": 0, "histogram": {"20": 40, str(slow_ms): 10}}
        for i in range(12)
    }
    series = {"seconds": seconds, "users": {str(int(T0) + i): 3 for i in range(12)}}
    return stats, result, series


@pytest.fixture
def profile_path(write_profile: WriteProfile) -> Path:
    return write_profile(
        profile_dict(
            "http://127.0.0.1:9",
            warmup="1s",
            stages=[{"duration": "11s", "users": 3}],
            thresholds={
                "http_req_duration": ["p(95)<400"],
                "http_req_duration{name:slow}": ["p(95)<300"],
                "http_req_failed": [{"threshold": "rate<0.01", "abort_on_fail": True}],
            },
            compare={"max_regression": {"p95": "+20%"}, "noise_floor_ms": 5},
        )
    )


FACTS = {
    "cores": 2,
    "cpu": "test CPU",
    "python": "3.11",
    "locust": "2.47.0",
    "target_url": "http://127.0.0.1:9",
}
GIT = {"commit": "c0ffee1234567890", "branch": "feature"}


def test_markdown_structure_for_a_passing_run(profile_path: Path) -> None:
    result = build_result(load_profile(profile_path), *outputs(100), facts=FACTS, git=GIT)
    text = render_markdown(result)
    lines = text.splitlines()
    assert lines[0] == marker("standin") == "<!-- harness:load:standin -->"
    assert lines[2].startswith("### ✅ Load test `standin`: passed")
    assert "**3/3 thresholds passed** · no baseline · 10.0 s measured after 1 s warm-up" in text
    assert "| threshold | now | baseline | delta | verdict |" in text
    assert "| `http_req_duration{name:slow}: p(95)<300` | 100 ms | — | — | ✅ pass |" in text
    assert "<details><summary>Per endpoint (2)</summary>" in text
    assert "| GET slow | 100 | 10.0 | 0.00% | 100 ms | 100 ms | 100 ms | — |" in text
    assert "- commit: `c0ffee1234567890` (feature)" in text
    assert "Top errors" not in text


def test_a_slower_run_is_a_regression_against_the_previous_report(
    profile_path: Path, tmp_path: Path
) -> None:
    profile = load_profile(profile_path)
    first = build_result(
        profile, *outputs(100), facts=FACTS, git={"commit": "base", "branch": "main"}
    )
    write_reports(first, tmp_path / "base", step_summary=False)
    baseline = load_baseline(tmp_path / "base" / "report.json")

    second = build_result(profile, *outputs(200), facts=FACTS, git=GIT, baseline=baseline)
    assert load_exit_code(second.verdict) == EXIT_REGRESSION
    text = render_markdown(second)
    assert "### 📉 Load test `standin`: regression" in text
    assert "**2 regressions** vs baseline `base` (main)" in text
    # total p95 moved 100 -> 200; the ok endpoint did not move: "~".
    assert "| `http_req_duration: p(95)<400` | 200 ms | 100 ms | +100 ms | ✅ pass |" in text
    assert "| GET ok | 400 | 40.0 | 0.00% | 20 ms | 30 ms | 30 ms | ~ |" in text
    assert "| GET slow | p95 | 200 ms | 100 ms | +100 ms (+100.0%) | +20% |" in text


def test_failed_thresholds_and_errors(profile_path: Path, tmp_path: Path) -> None:
    result = build_result(
        load_profile(profile_path), *outputs(350, failures=8), facts=FACTS, git=GIT
    )
    assert load_exit_code(result.verdict) == EXIT_THRESHOLDS
    assert [r.threshold.id for r in result.failed_thresholds] == [
        "http_req_duration{name:slow}: p(95)<300",
        "http_req_failed: rate<0.01",
    ]
    files = write_reports(result, tmp_path, step_summary=False)
    text = Path(files["markdown"]).read_text()
    assert "<details open><summary>Top errors (8 failed requests)</summary>" in text
    assert "| 8 | GET ok | `HTTP 500 boom` |" in text

    suite = ET.parse(files["junit"]).getroot()
    assert suite.get("tests") == "3"
    assert suite.get("failures") == "2"
    failures = {c.get("name"): c.find("failure") for c in suite.iter("testcase")}
    failed = failures["http_req_duration{name:slow}: p(95)<300"]
    assert failed is not None
    assert (
        failed.get("message") == "http_req_duration{name:slow}: p(95)<300: FAILED, observed 350 ms"
    )
    assert failures["http_req_duration: p(95)<400"] is None

    html = Path(files["html"]).read_text()
    assert html.count("data:image/png;base64,") == 1
    assert "http_req_failed: rate&lt;0.01" in html
    assert Path(files["plot"]).read_bytes().startswith(b"\x89PNG")

    data = json.loads(Path(files["json"]).read_text())
    assert data["verdict"] == "thresholds failed"
    assert "exit_code" not in data  # the CLI's business (harness.cli.exits)
    assert data["stats"]["endpoints"][1]["histogram"] == {"350": 100}
    assert len(data["timeline"]["points"]) >= 10


def test_step_summary_is_appended(
    profile_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = build_result(load_profile(profile_path), *outputs(100), facts=FACTS, git=GIT)
    write_reports(result, tmp_path / "out")
    text = summary.read_text()
    assert text.startswith("earlier step\n<!-- harness:load:standin -->")
