"""Percentiles from Locust's histogram, by Locust's rule (checked against a live Locust run
in test_locust_run.py; here against a definition written out independently)."""

from __future__ import annotations

import random

import pytest

from harness.load import histogram


def by_definition(samples: list[int], fraction: float) -> int:
    """Locust's rule stated on the samples: the largest recorded value with at most
    int(n * fraction) samples below it."""
    rank = int(len(samples) * fraction)
    return max(v for v in set(samples) if sum(1 for s in samples if s < v) <= rank)


@pytest.mark.parametrize("seed", range(25))
def test_percentiles_follow_the_definition(seed: int) -> None:
    rng = random.Random(seed)
    samples = [histogram.bucket(rng.expovariate(1 / 80)) for _ in range(rng.randint(1, 400))]
    counts: dict[int, int] = {}
    for s in samples:
        counts[s] = counts.get(s, 0) + 1
    for fraction in (0.5, 0.9, 0.95, 0.99, 0.999, 1.0):
        assert histogram.percentile(counts, fraction) == by_definition(samples, fraction)


@pytest.mark.parametrize(
    ("ms", "bucket"),
    [(0.4, 0), (42.6, 43), (99.4, 99), (147, 150), (999, 1000), (3432, 3400), (58760, 59000)],
)
def test_buckets_as_locust_rounds(ms: float, bucket: int) -> None:
    assert histogram.bucket(ms) == bucket


def test_empty_histogram_gives_zero() -> None:
    assert histogram.percentile({}, 0.95) == 0
    assert histogram.median({}, None, 0.0) == 0


def test_median_is_kept_within_min_and_max() -> None:
    # One request of 147 ms is filed under 150: the median must not exceed the real max.
    assert histogram.median({150: 1}, 147.0, 147.0) == 147.0
    assert histogram.median({10: 1}, 12.0, 12.0) == 12.0


def test_json_keys_are_normalised_and_merged() -> None:
    merged = histogram.merged([histogram.normalized({"10": 2, "20": 0}), {10: 1, 30: 4}])
    assert merged == {10: 3, 30: 4}
