"""Statistics of one run, per endpoint and in total, read from Locust's final JSON.

Locust's ``--json-file`` holds one entry per (method, name) with counters and the
response-time histogram, but no "Aggregated" row and no percentiles: the total is the merge
of the entries (Locust logs every request into both, with the same buckets, so the merge
equals its own total) and percentiles come from :mod:`harness.load.histogram`.

The same reader takes Locust's live entries (``StatsEntry.serialize()``) inside the
locustfile, which is how abortable thresholds are evaluated during a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.load import histogram
from harness.load.histogram import Histogram

TOTAL = "total"


@dataclass(frozen=True)
class EndpointStats:
    """One endpoint (a request name and method), or a merge of several (the total)."""

    name: str
    method: str
    requests: int = 0
    failures: int = 0
    # Requests Locust logged without a response time (none in HTTP users; kept for exactness).
    untimed: int = 0
    total_response_time: float = 0.0
    min_ms: float | None = None
    max_ms: float = 0.0
    content_length: int = 0
    histogram: Histogram = field(default_factory=dict)

    @property
    def timed(self) -> int:
        return self.requests - self.untimed

    @property
    def avg_ms(self) -> float:
        return self.total_response_time / self.timed if self.timed else 0.0

    @property
    def median_ms(self) -> float:
        return histogram.median(self.histogram, self.min_ms, self.max_ms, self.timed)

    def percentile_ms(self, fraction: float) -> float:
        return histogram.percentile(self.histogram, fraction, self.timed)

    @property
    def fail_ratio(self) -> float:
        if self.requests:
            return self.failures / self.requests
        return 1.0 if self.failures else 0.0

    @property
    def label(self) -> str:
        return f"{self.method} {self.name}".strip()

    def summary(self, duration_s: float) -> dict[str, Any]:
        """The figures a report shows (rounded as Locust prints them)."""
        return {
            "name": self.name,
            "method": self.method,
            "requests": self.requests,
            "failures": self.failures,
            "fail_ratio": round(self.fail_ratio, 6),
            "rps": round(self.requests / duration_s, 3) if duration_s > 0 else 0.0,
            "avg_ms": round(self.avg_ms, 2),
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
            "p50_ms": self.median_ms,
            "p90_ms": self.percentile_ms(0.90),
            "p95_ms": self.percentile_ms(0.95),
            "p99_ms": self.percentile_ms(0.99),
        }

    def to_json(self) -> dict[str, Any]:
        """Everything needed to recompute any figure later (a baseline keeps this)."""
        return {
            "name": self.name,
            "method": self.method,
            "requests": self.requests,
            "failures": self.failures,
            "untimed": self.untimed,
            "total_response_time": self.total_response_time,
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
            "content_length": self.content_length,
            "histogram": {str(k): v for k, v in sorted(self.histogram.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EndpointStats:
        return cls(
            name=str(data["name"]),
            method=str(data.get("method", "")),
            requests=int(data.get("requests", 0)),
            failures=int(data.get("failures", 0)),
            untimed=int(data.get("untimed", 0)),
            total_response_time=float(data.get("total_response_time", 0.0)),
            min_ms=None if data.get("min_ms") is None else float(data["min_ms"]),
            max_ms=float(data.get("max_ms", 0.0)),
            content_length=int(data.get("content_length", 0)),
            histogram=histogram.normalized(data.get("histogram", {})),
        )

    @classmethod
    def from_locust(cls, entry: Mapping[str, Any]) -> EndpointStats:
        """One entry of Locust's JSON file (or of ``StatsEntry.serialize()``)."""
        return cls(
            name=str(entry["name"]),
            method=str(entry.get("method") or ""),
            requests=int(entry.get("num_requests", 0)),
            failures=int(entry.get("num_failures", 0)),
            untimed=int(entry.get("num_none_requests", 0) or 0),
            total_response_time=float(entry.get("total_response_time", 0) or 0),
            min_ms=None if entry.get("min_response_time") is None else entry["min_response_time"],
            max_ms=float(entry.get("max_response_time", 0) or 0),
            content_length=int(entry.get("total_content_length", 0) or 0),
            histogram=histogram.normalized(entry.get("response_times", {})),
        )


def merge(entries: Sequence[EndpointStats], name: str = TOTAL, method: str = "") -> EndpointStats:
    """The statistics of all ``entries`` together (counts add, histograms merge)."""
    minimums = [e.min_ms for e in entries if e.min_ms is not None]
    return EndpointStats(
        name=name,
        method=method,
        requests=sum(e.requests for e in entries),
        failures=sum(e.failures for e in entries),
        untimed=sum(e.untimed for e in entries),
        total_response_time=sum(e.total_response_time for e in entries),
        min_ms=min(minimums) if minimums else None,
        max_ms=max((e.max_ms for e in entries), default=0.0),
        content_length=sum(e.content_length for e in entries),
        histogram=histogram.merged(e.histogram for e in entries),
    )


@dataclass(frozen=True)
class RunStats:
    """Every endpoint of a run and the measured window they were counted in."""

    endpoints: tuple[EndpointStats, ...]
    duration_s: float

    @property
    def total(self) -> EndpointStats:
        return merge(self.endpoints)

    def select(self, name: str | None = None, method: str | None = None) -> EndpointStats | None:
        """The merge of the endpoints matching the selector; None when none does."""
        chosen = [
            e
            for e in self.endpoints
            if (name is None or e.name == name) and (method is None or e.method == method.upper())
        ]
        if not chosen:
            return None
        label = name or TOTAL
        return merge(chosen, name=label, method=method.upper() if method else "")

    def endpoint(self, name: str, method: str) -> EndpointStats | None:
        return next((e for e in self.endpoints if e.name == name and e.method == method), None)

    def names(self) -> list[str]:
        return sorted({e.name for e in self.endpoints})

    def to_json(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "endpoints": [e.to_json() for e in self.endpoints],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunStats:
        return cls(
            endpoints=tuple(EndpointStats.from_json(e) for e in data.get("endpoints", [])),
            duration_s=float(data.get("duration_s", 0.0)),
        )

    @classmethod
    def from_locust(cls, entries: Iterable[Mapping[str, Any]], duration_s: float) -> RunStats:
        parsed = [EndpointStats.from_locust(e) for e in entries]
        kept = [e for e in parsed if e.requests or e.failures]
        kept.sort(key=lambda e: (e.name, e.method))
        return cls(endpoints=tuple(kept), duration_s=duration_s)
