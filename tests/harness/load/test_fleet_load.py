"""The checkout profile against the sample fleet, through the gateway (booted once here).

It shows the capability catches what it is for: a threshold the fleet cannot meet fails
with the threshold named, and a deliberately slowed edge (a Toxiproxy latency toxic on
gateway->orders) is reported as a regression against a baseline taken without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli.exits import EXIT_REGRESSION, EXIT_THRESHOLDS, load_exit_code
from harness.fleet.launch import launch
from harness.fleet.lifecycle import Fleet
from harness.load.outcome import LoadResult, load_baseline
from harness.load.session import run_profile

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[3]
CHECKOUT = ROOT / "scenarios" / "load" / "checkout-short.yaml"
TOXIPROXY_BIN = ROOT / ".tools" / "bin" / "toxiproxy-server"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with launch(
        ROOT / "sample_services" / "fleet.yaml",
        toxiproxy_bin=TOXIPROXY_BIN if TOXIPROXY_BIN.exists() else None,
        temp_parent=tmp_path_factory.mktemp("fleet"),
    ) as running:
        yield running


# checkout-short's own thresholds are SLOs (p95<800 ms, count>50) that a busy machine can
# miss; here the profile must pass on any machine, so only margins no machine closes.
MACHINE_INDEPENDENT = {"http_req_duration": ["p(95)<10000"], "http_req_failed": ["rate<0.5"]}


def short_checkout(directory: Path, **changes: Any) -> Path:
    """checkout-short, 1 s warm-up + 5 s, wide-margin thresholds, ``changes`` applied."""
    data = yaml.safe_load(CHECKOUT.read_text())
    data.update(
        {
            "warmup": "1s",
            "stages": [{"duration": "6s", "users": 6, "spawn_rate": 6}],
            "thresholds": MACHINE_INDEPENDENT,
        }
    )
    data.update(changes)
    path = directory / "checkout.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def baseline_run(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> LoadResult:
    directory = tmp_path_factory.mktemp("baseline")
    return run_profile(
        short_checkout(directory), fleet=fleet, report_dir=directory / "out", step_summary=False
    )


def test_checkout_through_the_gateway_passes(baseline_run: LoadResult) -> None:
    assert baseline_run.passed, baseline_run.summary()
    names = {e.name for e in baseline_run.stats.endpoints}
    # Users fetched their tokens when they started, within the warm-up: not counted.
    assert names == {"place order", "get order", "get stock"}
    assert baseline_run.stats.total.failures == 0
    text = Path(baseline_run.artifacts["markdown"]).read_text()
    assert "### ✅ Load test `checkout-short`: passed" in text


def test_a_threshold_the_fleet_cannot_meet_fails_by_name(fleet: Fleet, tmp_path: Path) -> None:
    path = short_checkout(tmp_path, thresholds={"http_req_duration{name:place order}": ["p(95)<1"]})
    result = run_profile(path, fleet=fleet, report_dir=tmp_path / "out", step_summary=False)
    assert load_exit_code(result.verdict) == EXIT_THRESHOLDS
    [failed] = result.failed_thresholds
    assert failed.threshold.id == "http_req_duration{name:place order}: p(95)<1"
    assert "http_req_duration{name:place order}: p(95)<1: FAILED" in result.summary()
    markdown = Path(result.artifacts["markdown"]).read_text()
    assert "| `http_req_duration{name:place order}: p(95)<1` |" in markdown
    assert "❌ FAIL" in markdown


def test_a_slowed_edge_is_a_regression_against_the_baseline(
    fleet: Fleet, baseline_run: LoadResult, tmp_path: Path
) -> None:
    baseline = load_baseline(Path(baseline_run.artifacts["json"]))
    # Judged on the median, with a delay far above any machine's noise: 1 s on every request
    # through the edge needs a baseline median over 2 s to hide under +50%. (Seen on busy
    # machines: a baseline p95 of 480 ms hid a 250 ms toxic, and with two test runs side by
    # side a 250 ms toxic moved get order's median by less than 50%.) Longer and wider than
    # the baseline run, so each endpoint still makes min_requests at 1 s a request.
    median = {"max_regression": {"p50": "+50%"}, "noise_floor_ms": 25, "min_requests": 20}
    with fleet.edge("gateway->orders").latency(1000):
        result = run_profile(
            short_checkout(
                tmp_path,
                compare=median,
                stages=[{"duration": "11s", "users": 12, "spawn_rate": 12}],
            ),
            fleet=fleet,
            report_dir=tmp_path / "out",
            baseline=baseline,
            step_summary=False,
        )
    assert load_exit_code(result.verdict) == EXIT_REGRESSION, result.summary()
    assert result.comparison is not None
    regressed = {(c.endpoint, c.metric) for c in result.comparison.regressions}
    assert ("POST place order", "p50") in regressed
    assert ("GET get order", "p50") in regressed
    markdown = Path(result.artifacts["markdown"]).read_text()
    assert "**Regressions against the baseline**" in markdown
