"""This run against a baseline run (e.g. main's latest): regressions beyond set limits.

Limits are written as the change that is tolerated at most::

    compare:
      max_regression: {p95: "+15%", p99: "+25%", rps: "-10%", error_rate: "+1pp"}
      noise_floor_ms: 5

Latencies (``p50 p90 p95 p99 avg max``) regress upwards and take ``+N%``; throughput
(``rps``) regresses downwards and takes ``-N%``; the error rate takes percentage points
(``+1pp``: from 0.5% to 1.5% is +1pp). A latency change smaller than ``noise_floor_ms`` (or
an rps change smaller than ``noise_floor_rps``) is noise whatever its percentage: 2 ms ->
3 ms is +50% and means nothing. Noise prints as "~". Endpoints with fewer than
``min_requests`` requests on either side are shown but never judged: a p99 of 15 samples
is one request.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.load.runstats import TOTAL, EndpointStats, RunStats

LATENCY_METRICS = ("p50", "p90", "p95", "p99", "avg", "max")
METRICS = (*LATENCY_METRICS, "rps", "error_rate")
DEFAULT_LIMITS = {"p95": "+20%", "p99": "+30%", "rps": "-15%", "error_rate": "+1pp"}
_LIMIT = re.compile(r"^\s*([+-])\s*(\d+(?:\.\d+)?)\s*(%|pp)\s*$")
# Error-rate changes below this many percentage points print as noise.
_ERROR_RATE_NOISE = 0.001

REGRESSION, IMPROVEMENT, OK, NOISE, TOO_FEW, NEW, GONE = (
    "regression",
    "improvement",
    "ok",
    "noise",
    "too few requests",
    "new",
    "gone",
)


@dataclass(frozen=True)
class Limit:
    metric: str
    text: str
    # A fraction: +15% -> 0.15, -10% -> -0.10, +1pp -> 0.01.
    value: float


def parse_limit(metric: str, text: str) -> Limit:
    """``("p95", "+15%")`` -> Limit; ValueError explaining the expected sign and unit."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric '{metric}' (metrics: {', '.join(METRICS)})")
    match = _LIMIT.match(str(text))
    if match is None:
        raise ValueError(
            f"'{text}' is not a limit: write e.g. {DEFAULT_LIMITS.get(metric, '+15%')}"
        )
    sign, number, unit = match.groups()
    if metric == "error_rate":
        if unit != "pp" or sign != "+":
            raise ValueError("error_rate regresses upwards in percentage points: write e.g. +1pp")
    elif unit != "%":
        raise ValueError(f"{metric} takes a percentage, e.g. {DEFAULT_LIMITS.get(metric, '+15%')}")
    elif metric == "rps" and sign != "-":
        raise ValueError("rps regresses downwards: write e.g. -10%")
    elif metric != "rps" and sign != "+":
        raise ValueError(f"{metric} regresses upwards: write e.g. +15%")
    value = float(number) / 100
    return Limit(metric, f"{sign}{number}{unit}", -value if sign == "-" else value)


@dataclass(frozen=True)
class CompareSettings:
    limits: Mapping[str, Limit] = field(
        default_factory=lambda: {m: parse_limit(m, t) for m, t in DEFAULT_LIMITS.items()}
    )
    noise_floor_ms: float = 5.0
    noise_floor_rps: float = 1.0
    endpoints: bool = True
    min_requests: int = 20


@dataclass(frozen=True)
class Change:
    endpoint: str
    metric: str
    now: float | None
    baseline: float | None
    verdict: str
    limit: Limit | None = None

    @property
    def delta(self) -> float | None:
        if self.now is None or self.baseline is None:
            return None
        return self.now - self.baseline

    @property
    def relative(self) -> float | None:
        delta = self.delta
        if delta is None or not self.baseline:
            return None
        return delta / self.baseline

    @property
    def delta_text(self) -> str:
        """``+12 ms (+30.0%)``; "~" within the noise floor."""
        delta = self.delta
        if self.verdict == NOISE:
            return "~"
        if delta is None:
            return "n/a"
        if self.metric == "error_rate":
            return f"{delta * 100:+.2f}pp"
        unit = "/s" if self.metric == "rps" else " ms"
        relative = self.relative
        pct = f" ({relative * 100:+.1f}%)" if relative is not None else ""
        return f"{delta:+.1f}{unit}{pct}" if self.metric == "rps" else f"{delta:+g}{unit}{pct}"

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "metric": self.metric,
            "now": self.now,
            "baseline": self.baseline,
            "delta": self.delta,
            "relative": self.relative,
            "delta_text": self.delta_text,
            "limit": self.limit.text if self.limit else None,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Comparison:
    changes: tuple[Change, ...]
    baseline_info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.verdict == REGRESSION]

    def for_endpoint(self, endpoint: str) -> dict[str, Change]:
        return {c.metric: c for c in self.changes if c.endpoint == endpoint}

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": dict(self.baseline_info),
            "regressions": len(self.regressions),
            "changes": [c.to_json() for c in self.changes],
        }


def metric_value(stats: EndpointStats, metric: str, duration_s: float) -> float:
    if metric == "rps":
        return stats.requests / duration_s if duration_s > 0 else 0.0
    if metric == "error_rate":
        return stats.fail_ratio
    if metric == "avg":
        return stats.avg_ms
    if metric == "max":
        return stats.max_ms
    if metric == "p50":
        return stats.median_ms
    return stats.percentile_ms(int(metric[1:]) / 100)


def judge(
    metric: str, now: float, baseline: float, limit: Limit | None, settings: CompareSettings
) -> str:
    """The verdict on one metric's change (see the module docstring for the rules)."""
    delta = now - baseline
    if metric == "error_rate":
        if abs(delta) < _ERROR_RATE_NOISE:
            return NOISE
        if limit is not None and delta > limit.value + 1e-12:
            return REGRESSION
        return IMPROVEMENT if delta < 0 else OK
    floor = settings.noise_floor_rps if metric == "rps" else settings.noise_floor_ms
    if abs(delta) < floor:
        return NOISE
    worse = delta < 0 if metric == "rps" else delta > 0
    relative = delta / baseline if baseline else math.copysign(math.inf, delta)
    if limit is not None and worse and abs(relative) > abs(limit.value) + 1e-12:
        return REGRESSION
    return OK if worse else IMPROVEMENT


def _compare_entry(
    label: str,
    now: EndpointStats | None,
    base: EndpointStats | None,
    now_duration: float,
    base_duration: float,
    metrics: tuple[str, ...],
    settings: CompareSettings,
) -> list[Change]:
    changes = []
    for metric in metrics:
        limit = settings.limits.get(metric)
        now_value = metric_value(now, metric, now_duration) if now else None
        base_value = metric_value(base, metric, base_duration) if base else None
        if now is None or base is None or now_value is None or base_value is None:
            verdict = NEW if base is None else GONE
        elif min(now.requests, base.requests) < settings.min_requests:
            verdict = TOO_FEW
        else:
            verdict = judge(metric, now_value, base_value, limit, settings)
        changes.append(Change(label, metric, now_value, base_value, verdict, limit))
    return changes


def compare(
    now: RunStats,
    baseline: RunStats,
    settings: CompareSettings | None = None,
    baseline_info: Mapping[str, Any] | None = None,
) -> Comparison:
    """Every metric of the total, and the limited metrics of each endpoint, now vs baseline."""
    settings = settings or CompareSettings()
    changes = _compare_entry(
        TOTAL, now.total, baseline.total, now.duration_s, baseline.duration_s, METRICS, settings
    )
    if settings.endpoints:
        limited = tuple(m for m in METRICS if m in settings.limits)
        keys = sorted(
            {(e.name, e.method) for e in now.endpoints}
            | {(e.name, e.method) for e in baseline.endpoints}
        )
        for name, method in keys:
            changes += _compare_entry(
                f"{method} {name}".strip(),
                now.endpoint(name, method),
                baseline.endpoint(name, method),
                now.duration_s,
                baseline.duration_s,
                limited,
                settings,
            )
    return Comparison(tuple(changes), dict(baseline_info or {}))
