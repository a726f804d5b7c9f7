"""Real Locust runs (subprocesses) against a small HTTP target: statistics, distributed
mode, warm-up, the open model, abort_on_fail, a user's locustfile and the CLI's exit codes.

Each run is a few seconds. Durations are asserted from what the run recorded, never by
timing this test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from harness.cli.exits import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REGRESSION,
    EXIT_THRESHOLDS,
    load_exit_code,
)
from harness.load.plan import SERIES_FILE
from harness.load.session import run_profile

from .conftest import WriteProfile, profile_dict

pytestmark = pytest.mark.slow

HARNESS = [sys.executable, "-m", "harness.cli"]


def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_distributed_run_merges_workers_and_matches_locusts_own_percentiles(
    target: str, write_profile: WriteProfile, tmp_path: Path
) -> None:
    before = children()
    path = write_profile(profile_dict(target, workers=2, warmup="1s"))
    result = run_profile(path, report_dir=tmp_path / "out", step_summary=False)

    assert result.passed, result.summary()
    assert result.run["workers"] == 2
    figures = result.locust_figures
    entries = {e.label: e for e in result.stats.endpoints}
    assert set(entries) == {"GET ok", "GET slow"}
    for label, stats in [*entries.items(), ("total", result.stats.total)]:
        locust = figures[label]
        ours = {
            "p50": stats.percentile_ms(0.5),
            "p90": stats.percentile_ms(0.9),
            "p95": stats.percentile_ms(0.95),
            "p99": stats.percentile_ms(0.99),
            "median": stats.median_ms,
            "requests": stats.requests,
        }
        assert ours == {key: locust[key] for key in ours}, label
        assert stats.avg_ms == pytest.approx(locust["avg"])
    # Both workers' requests reached the master's series, warm-up included.
    recorded = sum(p.rps for p in result.timeline.points)
    assert result.stats.total.requests > 40
    assert recorded > result.stats.total.requests * 0.9
    assert result.stats.duration_s == pytest.approx(3.0, abs=0.7)  # 4 s minus the warm-up
    assert children() == before


def test_warmup_requests_are_not_counted(
    target: str, write_profile: WriteProfile, tmp_path: Path
) -> None:
    path = write_profile(profile_dict(target, warmup="2s"))
    result = run_profile(path, report_dir=tmp_path / "out", step_summary=False)
    series = json.loads((Path(result.artifacts["raw"]) / SERIES_FILE).read_text())
    per_second = {int(k): v["requests"] for k, v in series["seconds"].items()}
    boundary = result.run["measure_start"]
    assert boundary - result.run["started"] == pytest.approx(2.0, abs=0.2)
    assert sum(n for second, n in per_second.items() if second < int(boundary)) > 10
    # Counted: everything after the warm-up's end, which falls inside one second's bucket.
    after = sum(n for second, n in per_second.items() if second > int(boundary))
    from_boundary = sum(n for second, n in per_second.items() if second >= int(boundary))
    assert after <= result.stats.total.requests <= from_boundary


def test_abort_on_fail_stops_a_failing_run_early(
    target: str, write_profile: WriteProfile, tmp_path: Path
) -> None:
    data = profile_dict(
        target,
        stages=[{"duration": "60s", "users": 2, "spawn_rate": 10}],
        tasks=[
            {"name": "ok", "weight": 1, "request": {"path": "/ok"}},
            {"name": "broken", "weight": 1, "request": {"path": "/fail"}},
        ],
        thresholds={
            "http_req_failed": [
                {"threshold": "rate<0.05", "abort_on_fail": True, "delay_abort_eval": "2s"}
            ],
            "http_req_duration": ["p(95)<5000"],
        },
    )
    result = run_profile(write_profile(data), report_dir=tmp_path / "out", step_summary=False)
    assert load_exit_code(result.verdict) == EXIT_THRESHOLDS
    assert result.verdict == "aborted"
    assert result.abort is not None
    assert result.abort.threshold == "http_req_failed: rate<0.05"
    assert result.abort.observed > 0.3
    # Recorded durations: the run was planned for 60 s and stopped after a few.
    assert result.run["planned_s"] == 60
    assert result.stats.duration_s < 10
    assert result.timeline.end_s < 10
    assert result.errors[0].error == "HTTP 500 boom"
    assert "🛑 Aborted after" in Path(result.artifacts["markdown"]).read_text()


def test_open_model_charges_queueing_to_latency(
    target: str, write_profile: WriteProfile, tmp_path: Path
) -> None:
    # 2 users can do ~8 iterations/s of 250 ms; 20/s arrive. A closed model would report
    # ~250 ms; counting from the intended start shows the queue, and late ones are dropped.
    data = profile_dict(
        target,
        stages=[{"duration": "4s", "rate": 20}],
        max_users=2,
        max_lag="1s",
        tasks=[{"name": "slow", "request": {"path": "/slow?ms=250"}}],
        thresholds={"http_req_duration": ["p(95)<600"], "dropped_iterations": ["count<1"]},
    )
    del data["wait"]
    result = run_profile(write_profile(data), report_dir=tmp_path / "out", step_summary=False)
    assert result.stats.total.percentile_ms(0.95) > 600
    assert result.run["dropped_iterations"] > 0
    assert {r.threshold.metric for r in result.failed_thresholds} == {
        "http_req_duration",
        "dropped_iterations",
    }


@pytest.mark.parametrize(
    ("stages", "extra"),
    [
        pytest.param(
            [{"duration": "2s", "rate": 8}, {"duration": "2s", "rate": 16}],
            {"max_users": 4},
            id="open model: the rate doubles",
        ),
        pytest.param(
            [
                {"duration": "2s", "users": 2, "spawn_rate": 20},
                {"duration": "2s", "users": 4, "spawn_rate": 20},
            ],
            {"wait": {"constant_throughput": 8}},
            id="closed model: 2 users, then 4",
        ),
    ],
)
def test_users_carry_on_across_a_stage_change(
    target: str,
    write_profile: WriteProfile,
    tmp_path: Path,
    stages: list[dict[str, object]],
    extra: dict[str, object],
) -> None:
    # Every user fetches its token once, when it starts: a pool torn down and spawned
    # again at the stage change would fetch more tokens than it has users.
    data = profile_dict(
        target,
        stages=stages,
        auth={"path": "/auth/token", "body": {"client_id": "u-{user_id}"}},
        tasks=[{"name": "ok", "request": {"path": "/ok"}}],
        thresholds={"http_req_failed": ["rate<0.5"]},
    )
    data.pop("wait")
    data.update(extra)
    result = run_profile(write_profile(data), report_dir=tmp_path / "out", step_summary=False)
    tokens = {e.name: e.requests for e in result.stats.endpoints}["auth: token"]
    assert tokens == 4, result.summary()
    assert result.run["peak_users"] == 4
    # The sampled user count never falls between spawn and the end of the last stage.
    inside = [p.users for p in result.timeline.points if 1.0 <= p.t_s <= 3.5]
    assert inside == sorted(inside)
    assert inside[0] >= 2
    assert inside[-1] == 4
    # Requests kept coming after the change (second stage: from 2 s on).
    assert sum(p.rps for p in result.timeline.points if p.t_s > 2.5) > 0


def test_a_users_own_locustfile(target: str, write_profile: WriteProfile, tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(
        "from locust import FastHttpUser, constant_throughput, task\n\n\n"
        "class Mine(FastHttpUser):\n"
        "    wait_time = constant_throughput(20)\n\n"
        "    @task\n"
        "    def hello(self):\n"
        "        self.client.get('/ok', name='mine')\n"
    )
    data = profile_dict(
        target,
        locustfile="mine.py",
        thresholds={"http_req_duration{name:mine}": ["p(95)<2000"], "http_reqs": ["count>10"]},
    )
    del data["tasks"]
    result = run_profile(write_profile(data), report_dir=tmp_path / "out", step_summary=False)
    assert result.passed, result.summary()
    assert [e.name for e in result.stats.endpoints] == ["mine"]


def test_cli_exit_codes_bad_input_passed_and_regression(
    target: str, write_profile: WriteProfile, tmp_path: Path
) -> None:
    bad = write_profile(
        "version: 1\nname: x\nbase_url: http://127.0.0.1:9\nstages: []\n", "bad.yaml"
    )
    before = children()
    done = subprocess.run([*HARNESS, "load", str(bad)], capture_output=True, text=True, check=False)
    assert done.returncode == EXIT_BAD_INPUT
    assert f"{bad}:4: stages: List should have at least 1 item" in done.stderr
    assert children() == before

    def profile(slow_ms: int) -> dict[str, object]:
        return profile_dict(
            target,
            warmup="1s",
            tasks=[{"name": "slow", "request": {"path": f"/slow?ms={slow_ms}"}}],
            compare={"max_regression": {"p95": "+20%"}, "noise_floor_ms": 10, "min_requests": 5},
        )

    base_dir, slow_dir = tmp_path / "base", tmp_path / "slow"
    fast = write_profile(profile(20), "fast.yaml")
    done = subprocess.run(
        [*HARNESS, "load", str(fast), "--report-dir", str(base_dir), "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    slow = write_profile(profile(150), "slow.yaml")
    command = [*HARNESS, "load", str(slow), "--baseline", str(base_dir / "report.json")]
    done = subprocess.run(
        [*command, "--report-dir", str(slow_dir), "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == EXIT_REGRESSION, done.stdout + done.stderr
    assert "regression: GET slow p95" in done.stdout
    assert "📉 Load test `standin`: regression" in (slow_dir / "report.md").read_text()


def test_a_run_without_a_request_is_a_failure_with_its_reason(
    target: str, write_profile: WriteProfile, tmp_path: Path
) -> None:
    # Zero work is not a pass: the thresholds have nothing to judge, k6 would pass them.
    data = profile_dict(
        target,
        stages=[{"duration": "2s", "users": 2, "spawn_rate": 10}],
        tasks=[{"name": "chase", "request": {"path": "/x/{item}", "save": {"item": "path"}}}],
        thresholds={"http_req_duration": ["p(95)<5000"]},
    )
    path = write_profile(data)
    report_dir = tmp_path / "out"
    done = subprocess.run(
        [*HARNESS, "load", str(path), "--report-dir", str(report_dir), "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == EXIT_FAILED, done.stdout + done.stderr
    assert "standin: no requests" in done.stdout
    assert "no request was measured: every task was skipped" in done.stdout
    report = json.loads((report_dir / "report.json").read_text())
    assert report["verdict"] == "no requests"
    assert "no request was measured" in (report_dir / "report.md").read_text()
