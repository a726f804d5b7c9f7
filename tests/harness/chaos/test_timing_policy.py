"""chaos.timing = report: timing bounds are measured and reported, never decide the verdict,
while every other check still does (the setting `make test` uses on shared machines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.chaos.checks import judge_slo
from harness.chaos.scenario import Slo
from harness.config import load_config
from harness.load.series import SeriesRecorder


def _second(latencies_ms: list[float], failures: int = 0) -> dict[str, Any]:
    """One second (t=100) of a load series with these requests."""
    recorder = SeriesRecorder()
    for index, latency in enumerate(latencies_ms):
        recorder.record(100.5, latency, failed=index < failures, name="place order")
    return recorder.to_json()


def _judge(slo: Slo, recorded: dict[str, Any], *, enforce: bool) -> Any:
    return judge_slo(slo, recorded, "during", 100, 101, 100, enforce_timing=enforce)


SLOW = _second([900.0] * 10)


def test_a_missed_latency_bound_fails_when_enforced() -> None:
    result = _judge(Slo(metric="p95_ms", max=500), SLOW, enforce=True)
    assert not result.ok
    assert result.enforced


def test_a_missed_latency_bound_is_reported_not_failed() -> None:
    result = _judge(Slo(metric="p95_ms", max=500), SLOW, enforce=False)
    assert result.ok
    assert not result.enforced
    assert result.observed >= 500
    assert "timing reported, not enforced" in str(result)


def test_a_held_latency_bound_is_enforced_as_usual() -> None:
    result = _judge(Slo(metric="p95_ms", max=5000), SLOW, enforce=False)
    assert result.ok
    assert result.enforced


def test_error_rate_still_decides_under_report() -> None:
    failing = _second([10.0] * 10, failures=5)
    result = _judge(Slo(metric="error_rate", max=0.02), failing, enforce=False)
    assert not result.ok
    assert result.enforced


@pytest.mark.parametrize(("value", "expected"), [(None, "enforce"), ("report", "report")])
def test_the_setting_resolves_from_the_environment(
    tmp_path: Path, value: str | None, expected: str
) -> None:
    environ = {"HARNESS_CHAOS_TIMING": value} if value else {}
    assert load_config(start=tmp_path, environ=environ).chaos.timing == expected
