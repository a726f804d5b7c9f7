"""Response-time histograms as Locust keeps them, and percentiles computed exactly as Locust does.

Locust records each response time into a bucket (whole milliseconds below 100 ms, then about
two significant digits: 147 -> 150, 3432 -> 3400) and keeps ``{bucket_ms: count}``. Its final
JSON holds that dict per endpoint, not percentiles. We compute percentiles from it with
Locust's own rule, so our figures equal the ones in its console, CSV and HTML reports
(tests/harness/load/test_locust_run.py checks this against a live run): walking the buckets
from the slowest down, the percentile is the first bucket at which the requests not yet
counted are at most ``int(total * p)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Histogram = dict[int, int]


def bucket(response_time_ms: float) -> int:
    """The bucket Locust files a response time under (``locust.stats.bucket_response_time``)."""
    if response_time_ms < 100:
        return round(response_time_ms)
    if response_time_ms < 1000:
        return int(round(response_time_ms, -1))
    if response_time_ms < 10000:
        return int(round(response_time_ms, -2))
    return int(round(response_time_ms, -3))


def normalized(raw: Mapping[str, int] | Mapping[int, int]) -> Histogram:
    """A histogram read from JSON (keys are strings there) with integer keys."""
    return {int(float(key)): int(count) for key, count in raw.items() if int(count)}


def merged(histograms: Iterable[Mapping[int, int]]) -> Histogram:
    total: Histogram = {}
    for histogram in histograms:
        for key, count in histogram.items():
            total[key] = total.get(key, 0) + count
    return total


def percentile(histogram: Mapping[int, int], fraction: float, count: int | None = None) -> int:
    """The ``fraction`` (0..1) percentile in ms; 0 for an empty histogram, as Locust.

    ``count`` is the number of timed requests; by default the histogram's own total.
    """
    total = sum(histogram.values()) if count is None else count
    rank = int(total * fraction)
    processed = 0
    for key in sorted(histogram, reverse=True):
        processed += histogram[key]
        if total - processed <= rank:
            return key
    return 0


def median(
    histogram: Mapping[int, int], min_ms: float | None, max_ms: float, count: int | None = None
) -> float:
    """Locust's median: the 50th percentile, kept within the exact min and max.

    Buckets are rounded, so a lone slow request could otherwise give a median above the
    maximum; Locust clamps it and so do we, to print the same number.
    """
    if not histogram:
        return 0
    value: float = percentile(histogram, 0.5, count)
    if value > max_ms:
        value = max_ms
    elif min_ms is not None and value < min_ms:
        value = min_ms
    return value
