"""The seed: given > HARNESS_FUZZ_SEED > the configured one in CI (derandomized) > fresh."""

from __future__ import annotations

import pytest

from harness.fuzz.errors import FuzzError
from harness.fuzz.seeds import SEED_ENV, in_ci, resolve_seed


def test_a_given_seed_wins() -> None:
    seed = resolve_seed(42, configured=7, environ={"CI": "true", SEED_ENV: "9"})
    assert (seed.value, seed.source, seed.derandomize) == (42, "given", True)
    assert resolve_seed(42, environ={}).derandomize is False


def test_the_environment_names_one() -> None:
    seed = resolve_seed(None, configured=7, environ={SEED_ENV: "9"})
    assert (seed.value, seed.source) == (9, SEED_ENV)


def test_ci_is_derandomized_with_the_configured_seed() -> None:
    seed = resolve_seed(None, configured=20261126, environ={"CI": "1"})
    assert (seed.value, seed.derandomize) == (20261126, True)
    assert "derandomized" in seed.describe()


def test_locally_each_run_draws_a_fresh_seed() -> None:
    seeds = {resolve_seed(None, configured=7, environ={}).value for _ in range(5)}
    assert len(seeds) > 1
    assert all(0 <= s < 2**32 for s in seeds)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", False), ("0", False), ("false", False), ("true", True), ("1", True)],
)
def test_what_counts_as_ci(value: str, expected: bool) -> None:
    assert in_ci({"CI": value}) is expected


def test_a_bad_seed_variable_is_refused() -> None:
    with pytest.raises(FuzzError, match=SEED_ENV):
        resolve_seed(None, environ={SEED_ENV: "many"})
