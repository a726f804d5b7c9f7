"""The seed: given > fuzz.seed (HARNESS_FUZZ_SEED) > the CI seed in CI (derandomized) > fresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import load_config
from harness.errors import ConfigError
from harness.fuzz.seeds import in_ci, resolve_seed, seed_from_config


def test_a_given_seed_wins() -> None:
    seed = resolve_seed(42, fixed=9, ci_seed=7, environ={"CI": "true"})
    assert (seed.value, seed.source, seed.derandomize) == (42, "given", True)
    assert resolve_seed(42, environ={}).derandomize is False


def test_the_configuration_names_one(tmp_path: Path) -> None:
    config = load_config(start=tmp_path, environ={"HARNESS_FUZZ_SEED": "9"})
    seed = seed_from_config(config.fuzz, environ={})
    assert (seed.value, seed.source) == (9, "fuzz.seed")


def test_ci_is_derandomized_with_the_ci_seed() -> None:
    seed = resolve_seed(None, ci_seed=20261126, environ={"CI": "1"})
    assert (seed.value, seed.derandomize) == (20261126, True)
    assert "derandomized" in seed.describe()


def test_the_fuzz_and_toxiproxy_seeds_are_distinct_settings(tmp_path: Path) -> None:
    environ = {"HARNESS_FUZZ_CI_SEED": "1", "HARNESS_TOXIPROXY_SEED": "2"}
    config = load_config(start=tmp_path, environ=environ)
    assert (config.fuzz.ci_seed, config.infra.toxiproxy_seed) == (1, 2)


def test_locally_each_run_draws_a_fresh_seed() -> None:
    seeds = {resolve_seed(None, ci_seed=7, environ={}).value for _ in range(5)}
    assert len(seeds) > 1
    assert all(0 <= s < 2**32 for s in seeds)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", False), ("0", False), ("false", False), ("true", True), ("1", True)],
)
def test_what_counts_as_ci(value: str, expected: bool) -> None:
    assert in_ci({"CI": value}) is expected


def test_a_bad_seed_variable_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"environment: fuzz\.seed"):
        load_config(start=tmp_path, environ={"HARNESS_FUZZ_SEED": "many"})
