"""Pass/fail criteria in k6's threshold grammar, evaluated on a run's statistics.

A threshold is a metric, an optional selector and a condition::

    http_req_duration: ["p(95)<300", "avg<150"]
    "http_req_duration{name:place order}": ["p(99)<800"]
    http_req_failed: [{threshold: "rate<0.01", abort_on_fail: true, delay_abort_eval: 10s}]
    http_reqs: ["count>100", "rate>20"]

Metrics (k6's names, so a k6 user reads them as they would there):

- ``http_req_duration`` (trend, ms): ``avg``, ``min``, ``max``, ``med``, ``p(N)``
- ``http_req_failed`` (rate of failed requests, 0..1): ``rate``
- ``http_reqs`` (counter): ``count``, ``rate`` (per second of the measured window)
- ``dropped_iterations`` (counter, open model only): ``count``, ``rate``

Selectors pick endpoints by their Locust request name and/or method:
``{name:place order}``, ``{method:POST}``, ``{name:get order,method:GET}``.

Unlike k6, a trend or rate threshold whose selector matched no request fails ("no
requests matched"): a misspelt endpoint name must not pass silently.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.load.runstats import EndpointStats, RunStats

TREND, RATE, COUNTER = "trend", "rate", "counter"
METRICS: dict[str, str] = {
    "http_req_duration": TREND,
    "http_req_failed": RATE,
    "http_reqs": COUNTER,
    "dropped_iterations": COUNTER,
}
AGGREGATIONS: dict[str, tuple[str, ...]] = {
    TREND: ("avg", "min", "max", "med", "p(N)"),
    RATE: ("rate",),
    COUNTER: ("count", "rate"),
}
SELECTOR_TAGS = ("name", "method")
UNITS = {TREND: "ms", RATE: "", COUNTER: ""}

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "===": operator.eq,
    "!=": operator.ne,
}
_KEY = re.compile(r"^\s*([a-z_]+)\s*(?:\{(.*)\})?\s*$")
_CONDITION = re.compile(
    r"^\s*(avg|min|max|med|count|rate|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*"
    r"(===|==|!=|<=|>=|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)\s*$"
)


@dataclass(frozen=True)
class Selector:
    """Which endpoints a threshold looks at; empty means all of them."""

    name: str | None = None
    method: str | None = None

    @property
    def text(self) -> str:
        parts = [f"name:{self.name}"] if self.name is not None else []
        if self.method is not None:
            parts.append(f"method:{self.method}")
        return "{" + ",".join(parts) + "}" if parts else ""


@dataclass(frozen=True)
class Condition:
    aggregation: str  # avg | min | max | med | count | rate | p
    percentile: float | None
    op: str
    value: float
    text: str

    def holds(self, observed: float) -> bool:
        return _OPERATORS[self.op](observed, self.value)

    @property
    def label(self) -> str:
        if self.aggregation == "p":
            return f"p({self.percentile:g})"
        return self.aggregation


@dataclass(frozen=True)
class Threshold:
    metric: str
    selector: Selector
    condition: Condition
    abort_on_fail: bool = False
    delay_abort_eval: float = 0.0

    @property
    def kind(self) -> str:
        return METRICS[self.metric]

    @property
    def key(self) -> str:
        """The metric as written, normalised: ``http_req_duration{name:place order}``."""
        return self.metric + self.selector.text

    @property
    def id(self) -> str:
        """Unique within a profile: ``http_req_duration{name:place order}: p(95)<300``."""
        return f"{self.key}: {self.condition.text}"

    @property
    def unit(self) -> str:
        return UNITS[self.kind] if self.condition.aggregation != "count" else ""


@dataclass(frozen=True)
class ThresholdResult:
    threshold: Threshold
    observed: float | None
    passed: bool
    note: str = ""

    def describe(self) -> str:
        shown = "no data" if self.observed is None else format_value(self.threshold, self.observed)
        verdict = "passed" if self.passed else "FAILED"
        extra = f" ({self.note})" if self.note else ""
        return f"{self.threshold.id}: {verdict}, observed {shown}{extra}"

    def to_json(self) -> dict[str, Any]:
        t = self.threshold
        return {
            "id": t.id,
            "metric": t.metric,
            "selector": {"name": t.selector.name, "method": t.selector.method},
            "condition": t.condition.text,
            "aggregation": t.condition.label,
            "abort_on_fail": t.abort_on_fail,
            "delay_abort_eval_s": t.delay_abort_eval,
            "observed": self.observed,
            "unit": t.unit,
            "passed": self.passed,
            "note": self.note,
        }


def format_value(threshold: Threshold, value: float) -> str:
    if threshold.kind == TREND:
        return f"{value:g} ms"
    if threshold.kind == RATE:
        return f"{value * 100:.2f}%"
    if threshold.condition.aggregation == "rate":
        return f"{value:.2f}/s"
    return f"{value:g}"


def parse_key(key: str) -> tuple[str, Selector]:
    """``http_req_duration{name:place order}`` -> (metric, selector); ValueError if malformed."""
    match = _KEY.match(key)
    if match is None:
        raise ValueError(f"'{key}' is not a metric: write e.g. http_req_duration{{name:checkout}}")
    metric, tags = match.group(1), match.group(2)
    if metric not in METRICS:
        raise ValueError(f"unknown metric '{metric}' (metrics: {', '.join(METRICS)})")
    if tags is None:
        return metric, Selector()
    values: dict[str, str] = {}
    for part in tags.split(","):
        tag, sep, value = part.partition(":")
        tag, value = tag.strip(), value.strip()
        if not sep or not tag or not value:
            raise ValueError(
                f"selector '{{{tags}}}' must be tag:value pairs, e.g. {{name:checkout}}"
            )
        if tag not in SELECTOR_TAGS:
            raise ValueError(f"unknown selector tag '{tag}' (tags: {', '.join(SELECTOR_TAGS)})")
        if tag in values:
            raise ValueError(f"selector tag '{tag}' given twice")
        values[tag] = value
    if metric == "dropped_iterations":
        raise ValueError("dropped_iterations counts iterations, not requests: it takes no selector")
    method = values.get("method")
    return metric, Selector(values.get("name"), method.upper() if method else None)


def parse_condition(text: str, metric: str) -> Condition:
    """``p(95)<300`` -> Condition; ValueError naming what the metric accepts."""
    kind = METRICS[metric]
    allowed = AGGREGATIONS[kind]
    match = _CONDITION.match(text)
    if match is None:
        raise ValueError(
            f"'{text}' is not a threshold: write <aggregation><operator><number>, "
            f"e.g. {_example(kind)} ({metric} takes {', '.join(allowed)})"
        )
    aggregation, pct, op, value = match.groups()
    if pct is not None:
        aggregation = "p"
        percentile = float(pct)
        if not 0 < percentile <= 100:
            raise ValueError(f"p({pct}): the percentile must be in (0, 100]")
    else:
        percentile = None
    shown = "p(N)" if aggregation == "p" else aggregation
    if shown not in allowed:
        raise ValueError(
            f"'{shown}' does not apply to {metric} (a {kind}): use {', '.join(allowed)}"
        )
    label = f"p({percentile:g})" if percentile is not None else aggregation
    return Condition(aggregation, percentile, op, float(value), f"{label}{op}{value}")


def _example(kind: str) -> str:
    return {TREND: "p(95)<300", RATE: "rate<0.01", COUNTER: "count>100"}[kind]


def parse_threshold(
    key: str, text: str, *, abort_on_fail: bool = False, delay_abort_eval: float = 0.0
) -> Threshold:
    metric, selector = parse_key(key)
    condition = parse_condition(text, metric)
    return Threshold(metric, selector, condition, abort_on_fail, delay_abort_eval)


@dataclass(frozen=True)
class Measures:
    """What thresholds are evaluated on: the request statistics and the run's counters."""

    stats: RunStats
    dropped_iterations: int = 0


def observe(threshold: Threshold, measures: Measures) -> tuple[float | None, str]:
    """The observed value (None when there is no data) and a note explaining a None."""
    condition = threshold.condition
    duration = measures.stats.duration_s
    if threshold.metric == "dropped_iterations":
        dropped = float(measures.dropped_iterations)
        if condition.aggregation == "rate":
            return (dropped / duration if duration > 0 else 0.0), ""
        return dropped, ""
    selected = measures.stats.select(threshold.selector.name, threshold.selector.method)
    if threshold.kind == COUNTER:
        count = float(selected.requests if selected else 0)
        if condition.aggregation == "rate":
            return (count / duration if duration > 0 else 0.0), ""
        return count, ""
    if selected is None or selected.requests == 0:
        where = threshold.selector.text or "any endpoint"
        return None, f"no requests matched {where}"
    if threshold.kind == RATE:
        return selected.fail_ratio, ""
    return _trend(selected, condition), ""


def _trend(stats: EndpointStats, condition: Condition) -> float | None:
    if stats.timed == 0:
        return None
    by_name: Mapping[str, Callable[[], float | None]] = {
        "avg": lambda: stats.avg_ms,
        "min": lambda: stats.min_ms,
        "max": lambda: stats.max_ms,
        "med": lambda: stats.median_ms,
    }
    if condition.aggregation == "p":
        assert condition.percentile is not None
        return stats.percentile_ms(condition.percentile / 100)
    return by_name[condition.aggregation]()


def evaluate(threshold: Threshold, measures: Measures) -> ThresholdResult:
    observed, note = observe(threshold, measures)
    if observed is None:
        return ThresholdResult(threshold, None, False, note or "no data")
    return ThresholdResult(threshold, observed, threshold.condition.holds(observed), note)


def evaluate_all(thresholds: list[Threshold], measures: Measures) -> list[ThresholdResult]:
    return [evaluate(t, measures) for t in thresholds]
