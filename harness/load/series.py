"""The run over time: requests, failures and a latency histogram per second, users per second.

:class:`SeriesRecorder` runs inside Locust (plain Python, no Locust import): every request
is filed under the wall-clock second it completed in. In distributed mode each worker sends
what it recorded since its last report to the master, which merges it, so the series is
exact per second even though workers report every few seconds.

:func:`intervals` turns the recording into the points a plot shows: rps, failures per
second and p50/p95/p99 per interval, with the warm-up and an abort marked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.load import histogram


@dataclass
class SecondBucket:
    requests: int = 0
    failures: int = 0
    histogram: dict[int, int] = field(default_factory=dict)

    def add(self, other: SecondBucket) -> None:
        self.requests += other.requests
        self.failures += other.failures
        for key, count in other.histogram.items():
            self.histogram[key] = self.histogram.get(key, 0) + count

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failures": self.failures,
            "histogram": {str(k): v for k, v in self.histogram.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SecondBucket:
        return cls(
            int(data["requests"]),
            int(data["failures"]),
            histogram.normalized(data.get("histogram", {})),
        )


class SeriesRecorder:
    """Per-second buckets (in total and per request name), plus the user count each second.

    The per-name buckets are what a chaos game-day judges its per-endpoint SLOs on, window
    by window (a fault's window, the recovery after it).
    """

    def __init__(self, *, reports_to_master: bool = False) -> None:
        self.seconds: dict[int, SecondBucket] = {}
        self.endpoints: dict[str, dict[int, SecondBucket]] = {}
        self.users: dict[int, int] = {}
        self._unsent: dict[int, SecondBucket] = {}
        self._unsent_endpoints: dict[str, dict[int, SecondBucket]] = {}
        # A worker keeps only what it has not sent yet; everyone else keeps everything.
        self._reports = reports_to_master

    def record(
        self, when: float, response_time_ms: float | None, failed: bool, name: str | None = None
    ) -> None:
        second = int(when)
        totals, by_name = (
            (self._unsent, self._unsent_endpoints)
            if self._reports
            else (self.seconds, self.endpoints)
        )
        targets = [totals]
        if name is not None:
            targets.append(by_name.setdefault(name, {}))
        for target in targets:
            slot = target.get(second)
            if slot is None:
                slot = target[second] = SecondBucket()
            slot.requests += 1
            slot.failures += failed
            if response_time_ms is not None:
                key = histogram.bucket(response_time_ms)
                slot.histogram[key] = slot.histogram.get(key, 0) + 1

    def sample_users(self, when: float, users: int) -> None:
        """The user count at ``when`` (one sample per second is kept; seconds without one
        carry the previous count in :func:`intervals`)."""
        self.users[int(when)] = users

    def drain(self) -> dict[str, Any]:
        """What was recorded since the last drain, as JSON (a worker's report to the master)."""
        drained: dict[str, Any] = {str(k): v.to_json() for k, v in self._unsent.items()}
        if self._unsent_endpoints:
            drained[_ENDPOINTS] = {
                name: {str(k): v.to_json() for k, v in seconds.items()}
                for name, seconds in self._unsent_endpoints.items()
            }
        self._unsent.clear()
        self._unsent_endpoints.clear()
        return drained

    def absorb(self, drained: Mapping[str, Any]) -> None:
        """Merge a worker's drained recording (on the master)."""
        for second, data in drained.items():
            if second == _ENDPOINTS:
                for name, seconds in data.items():
                    mine = self.endpoints.setdefault(name, {})
                    for at, bucket in seconds.items():
                        mine.setdefault(int(at), SecondBucket()).add(SecondBucket.from_json(bucket))
                continue
            bucket = SecondBucket.from_json(data)
            slot = self.seconds.setdefault(int(second), SecondBucket())
            slot.add(bucket)

    def window(self, start: float, end: float) -> SecondBucket:
        """Everything recorded in whole seconds within [start, end)."""
        total = SecondBucket()
        for second, bucket in self.seconds.items():
            if start <= second < end:
                total.add(bucket)
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": {str(k): v.to_json() for k, v in sorted(self.seconds.items())},
            "users": {str(k): v for k, v in sorted(self.users.items())},
            "endpoints": {
                name: {str(k): v.to_json() for k, v in sorted(seconds.items())}
                for name, seconds in sorted(self.endpoints.items())
            },
        }


# The key under which a worker's drained report carries its per-name buckets.
_ENDPOINTS = "endpoints"


def window_of(
    recorded: Mapping[str, Any], start: float, end: float, endpoint: str | None = None
) -> SecondBucket:
    """Everything a recording (``SeriesRecorder.to_json()``) holds in whole seconds within
    [start, end), in total or for one request name (an unknown name: an empty bucket)."""
    if endpoint is None:
        seconds = recorded.get("seconds", {})
    else:
        seconds = recorded.get("endpoints", {}).get(endpoint, {})
    total = SecondBucket()
    for second, data in seconds.items():
        if start <= int(second) < end:
            total.add(SecondBucket.from_json(data))
    return total


@dataclass(frozen=True)
class Point:
    """One interval of the run, ``t_s`` seconds after its start."""

    t_s: float
    users: int
    rps: float
    failures_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class Timeline:
    points: list[Point]
    warmup_end_s: float
    end_s: float
    abort_at_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "warmup_end_s": self.warmup_end_s,
            "end_s": self.end_s,
            "abort_at_s": self.abort_at_s,
            "points": [p.to_json() for p in self.points],
        }


def intervals(
    recorded: Mapping[str, Any],
    start: float,
    stop: float,
    warmup_s: float,
    abort_at: float | None = None,
    max_points: int = 240,
) -> Timeline:
    """Points every second (coarser for long runs, at most ``max_points``) from ``start``."""
    seconds = {int(k): SecondBucket.from_json(v) for k, v in recorded.get("seconds", {}).items()}
    users = {int(k): int(v) for k, v in recorded.get("users", {}).items()}
    first = int(start)
    last = int(stop)
    span = max(1, last - first + 1)
    step = max(1, -(-span // max_points))
    points = []
    # The user count is a step function sampled about once a second; a second without a
    # sample (the sampler was starved on a busy machine) keeps the last count seen, it does
    # not drop to 0 (which read as the pool being torn down).
    known = 0
    for second in sorted(users):
        if second >= first:
            break
        known = users[second]
    for begin in range(first, last + 1, step):
        bucket = SecondBucket()
        for second in range(begin, begin + step):
            if second in seconds:
                bucket.add(seconds[second])
        sampled = [users[s] for s in range(begin, begin + step) if s in users]
        if sampled:
            known = sampled[-1]
        timed = sum(bucket.histogram.values())
        # The first and last buckets are partly outside the run: rates use the part inside.
        covered = min(begin + step, max(stop, begin + 1e-3)) - max(begin, start)
        covered = max(covered, min(step, 0.25))
        points.append(
            Point(
                t_s=round(max(begin, start) + covered / 2 - start, 3),
                users=max(sampled) if sampled else known,
                rps=bucket.requests / covered,
                failures_per_s=bucket.failures / covered,
                p50_ms=histogram.percentile(bucket.histogram, 0.50) if timed else None,
                p95_ms=histogram.percentile(bucket.histogram, 0.95) if timed else None,
                p99_ms=histogram.percentile(bucket.histogram, 0.99) if timed else None,
            )
        )
    return Timeline(
        points=points,
        warmup_end_s=warmup_s,
        end_s=max(0.0, stop - start),
        abort_at_s=(abort_at - start) if abort_at is not None else None,
    )
