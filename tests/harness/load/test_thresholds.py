"""k6's threshold grammar: parsing (with the messages a user sees) and evaluation."""

from __future__ import annotations

import pytest

from harness.load.runstats import EndpointStats, RunStats
from harness.load.thresholds import (
    Measures,
    Selector,
    evaluate,
    parse_condition,
    parse_key,
    parse_threshold,
)


def endpoint(name: str, method: str, times: dict[int, int], failures: int = 0) -> EndpointStats:
    requests = sum(times.values())
    return EndpointStats(
        name=name,
        method=method,
        requests=requests,
        failures=failures,
        total_response_time=float(sum(k * v for k, v in times.items())),
        min_ms=float(min(times)),
        max_ms=float(max(times)),
        histogram=dict(times),
    )


STATS = RunStats(
    endpoints=(
        endpoint("place order", "POST", {10: 50, 20: 40, 300: 10}, failures=2),
        endpoint("get order", "GET", {5: 90, 50: 10}),
    ),
    duration_s=10.0,
)
MEASURES = Measures(STATS, dropped_iterations=3)


@pytest.mark.parametrize(
    ("key", "metric", "selector"),
    [
        ("http_req_duration", "http_req_duration", Selector()),
        ("http_req_duration{name:place order}", "http_req_duration", Selector("place order")),
        ("http_req_failed{method:post}", "http_req_failed", Selector(None, "POST")),
        ("http_reqs{ name : get order , method:GET }", "http_reqs", Selector("get order", "GET")),
    ],
)
def test_keys_parse_into_metric_and_selector(key: str, metric: str, selector: Selector) -> None:
    assert parse_key(key) == (metric, selector)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("http_req_time", "unknown metric 'http_req_time'"),
        ("http_req_duration{url:/x}", "unknown selector tag 'url'"),
        ("http_req_duration{name}", "must be tag:value pairs"),
        ("http_req_duration{name:a,name:b}", "given twice"),
        ("dropped_iterations{name:a}", "takes no selector"),
        ("http req duration", "is not a metric"),
    ],
)
def test_bad_keys_are_explained(key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_key(key)


@pytest.mark.parametrize(
    ("text", "label", "op", "value"),
    [
        ("p(95)<300", "p(95)", "<", 300.0),
        ("p( 99.9 ) <= 1000", "p(99.9)", "<=", 1000.0),
        ("avg<200", "avg", "<", 200.0),
        ("med < 100", "med", "<", 100.0),
        ("max>=5", "max", ">=", 5.0),
        ("min>0", "min", ">", 0.0),
    ],
)
def test_trend_conditions(text: str, label: str, op: str, value: float) -> None:
    condition = parse_condition(text, "http_req_duration")
    assert (condition.label, condition.op, condition.value) == (label, op, value)


@pytest.mark.parametrize(
    ("text", "metric", "message"),
    [
        ("rate<0.01", "http_req_duration", "'rate' does not apply to http_req_duration"),
        ("p(95)<1", "http_req_failed", "'p\\(N\\)' does not apply to http_req_failed"),
        ("count>1", "http_req_failed", "'count' does not apply"),
        ("p(95)", "http_req_duration", "is not a threshold"),
        ("p(0)<5", "http_req_duration", "percentile must be in"),
        ("p95<300", "http_req_duration", "e.g. p\\(95\\)<300"),
    ],
)
def test_bad_conditions_are_explained(text: str, metric: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_condition(text, metric)


def test_threshold_ids_are_normalised() -> None:
    threshold = parse_threshold("http_req_duration{ name:place order }", "p(95) < 300")
    assert threshold.id == "http_req_duration{name:place order}: p(95)<300"


@pytest.mark.parametrize(
    ("key", "condition", "observed", "passed"),
    [
        # All 200 requests: 95th percentile of {5:90, 10:50, 20:40, 50:10, 300:10}.
        ("http_req_duration", "p(95)<100", 300.0, False),
        ("http_req_duration", "p(90)<100", 50.0, True),
        # Locust takes the higher bucket at an exact split: 50 at <=10 ms, 50 above.
        ("http_req_duration{name:place order}", "med<25", 20.0, True),
        ("http_req_duration{name:get order}", "max<=50", 50.0, True),
        ("http_req_duration{method:GET}", "avg<10", 9.5, True),
        ("http_req_failed", "rate<0.01", 0.01, False),
        ("http_req_failed{name:get order}", "rate==0", 0.0, True),
        ("http_reqs", "count>150", 200.0, True),
        ("http_reqs", "rate>25", 20.0, False),
        ("http_reqs{name:nothing}", "count==0", 0.0, True),
        ("dropped_iterations", "count<1", 3.0, False),
    ],
)
def test_evaluation(key: str, condition: str, observed: float, passed: bool) -> None:
    result = evaluate(parse_threshold(key, condition), MEASURES)
    assert result.observed == pytest.approx(observed)
    assert result.passed is passed


def test_a_selector_that_matches_nothing_fails_rather_than_passes() -> None:
    result = evaluate(parse_threshold("http_req_duration{name:plcae order}", "p(95)<1"), MEASURES)
    assert (result.passed, result.observed) == (False, None)
    assert "no requests matched {name:plcae order}" in result.describe()


def test_describe_names_the_threshold_and_what_was_seen() -> None:
    result = evaluate(parse_threshold("http_req_failed", "rate<0.001"), MEASURES)
    assert result.describe() == "http_req_failed: rate<0.001: FAILED, observed 1.00%"
