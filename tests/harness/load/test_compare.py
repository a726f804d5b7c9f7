"""Baseline comparison: limits, the noise floor ("~"), too-few-requests, new endpoints."""

from __future__ import annotations

import pytest

from harness.load.compare import (
    IMPROVEMENT,
    NEW,
    NOISE,
    OK,
    REGRESSION,
    TOO_FEW,
    CompareSettings,
    compare,
    parse_limit,
)
from harness.load.runstats import EndpointStats, RunStats


def stats(name: str, ms: int, requests: int = 100, failures: int = 0) -> EndpointStats:
    return EndpointStats(
        name=name,
        method="GET",
        requests=requests,
        failures=failures,
        total_response_time=float(ms * requests),
        min_ms=float(ms),
        max_ms=float(ms),
        histogram={ms: requests},
    )


def run(*endpoints: EndpointStats, duration: float = 10.0) -> RunStats:
    return RunStats(tuple(endpoints), duration)


SETTINGS = CompareSettings(
    limits={
        m: parse_limit(m, t)
        for m, t in {"p95": "+20%", "rps": "-10%", "error_rate": "+1pp"}.items()
    },
    noise_floor_ms=5,
    noise_floor_rps=1,
    min_requests=20,
)


def verdict(now: RunStats, before: RunStats, endpoint: str, metric: str) -> str:
    return compare(now, before, SETTINGS).for_endpoint(endpoint)[metric].verdict


def test_a_slower_endpoint_beyond_its_limit_is_a_regression() -> None:
    before = run(stats("a", 100), stats("b", 50))
    now = run(stats("a", 150), stats("b", 50))
    comparison = compare(now, before, SETTINGS)
    assert [(c.endpoint, c.metric) for c in comparison.regressions] == [
        ("total", "p95"),
        ("GET a", "p95"),
    ]
    change = comparison.for_endpoint("GET a")["p95"]
    assert change.delta_text == "+50 ms (+50.0%)"
    assert verdict(now, before, "GET b", "p95") == NOISE


def test_within_the_noise_floor_is_noise_whatever_the_percentage() -> None:
    # 2 ms -> 6 ms is +200% but 4 ms: below the 5 ms floor.
    change = compare(run(stats("a", 6)), run(stats("a", 2)), SETTINGS).for_endpoint("GET a")["p95"]
    assert (change.verdict, change.delta_text) == (NOISE, "~")


def test_within_the_limit_is_ok_and_faster_is_an_improvement() -> None:
    assert verdict(run(stats("a", 110)), run(stats("a", 100)), "GET a", "p95") == OK
    assert verdict(run(stats("a", 60)), run(stats("a", 100)), "GET a", "p95") == IMPROVEMENT


def test_throughput_regresses_downwards() -> None:
    before = run(stats("a", 10, requests=1000))
    assert verdict(run(stats("a", 10, requests=850)), before, "GET a", "rps") == REGRESSION
    assert verdict(run(stats("a", 10, requests=950)), before, "GET a", "rps") == OK
    assert verdict(run(stats("a", 10, requests=1200)), before, "GET a", "rps") == IMPROVEMENT


def test_error_rate_regresses_in_percentage_points() -> None:
    before = run(stats("a", 10, requests=1000, failures=5))
    assert (
        verdict(run(stats("a", 10, requests=1000, failures=30)), before, "GET a", "error_rate")
        == REGRESSION
    )
    assert (
        verdict(run(stats("a", 10, requests=1000, failures=12)), before, "GET a", "error_rate")
        == OK
    )


def test_endpoints_with_few_requests_are_not_judged() -> None:
    assert (
        verdict(run(stats("a", 900, requests=5)), run(stats("a", 10, requests=5)), "GET a", "p95")
        == TOO_FEW
    )


def test_new_endpoints_are_shown_not_judged() -> None:
    comparison = compare(run(stats("a", 10), stats("new", 10)), run(stats("a", 10)), SETTINGS)
    assert comparison.for_endpoint("GET new")["p95"].verdict == NEW
    assert comparison.regressions == []


@pytest.mark.parametrize(
    ("metric", "text", "value"),
    [("p95", "+15%", 0.15), ("rps", "-10%", -0.10), ("error_rate", "+0.5pp", 0.005)],
)
def test_limits_parse(metric: str, text: str, value: float) -> None:
    assert parse_limit(metric, text).value == pytest.approx(value)
