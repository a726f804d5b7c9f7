"""What game-days judge SLOs on: the load's per-second series per request name, windowed
(also after a distributed worker's drain and the master's absorb), and the metrics."""

from __future__ import annotations

from harness.chaos.checks import judge_slo, metric_value, window_metric
from harness.chaos.scenario import Slo
from harness.load.series import SeriesRecorder, window_of


def _recorded() -> SeriesRecorder:
    recorder = SeriesRecorder()
    for i in range(10):
        recorder.record(100.2, 50.0, False, "get")
        recorder.record(101.5, 400.0, i < 3, "place")
    return recorder


def test_windows_per_name_and_in_total() -> None:
    data = _recorded().to_json()
    assert window_of(data, 100, 101).requests == 10
    assert window_of(data, 100, 102, "place").failures == 3
    assert window_of(data, 100, 102, "nope").requests == 0
    assert window_metric(data, "error_rate", "place", 100, 102) == (0.3, 10)
    assert window_metric(data, "error_rate", "*", 100, 102) == (0.15, 20)
    assert window_metric(data, "rps", "*", 100, 102) == (10.0, 20)


def test_a_worker_drain_absorbed_by_the_master_keeps_the_names() -> None:
    worker = SeriesRecorder(reports_to_master=True)
    worker.record(100.1, 10.0, False, "get")
    worker.record(100.2, 20.0, True, "place")
    master = SeriesRecorder()
    master.absorb(worker.drain())
    assert worker.drain() == {}
    data = master.to_json()
    assert window_of(data, 100, 101).requests == 2
    assert window_of(data, 100, 101, "place").failures == 1


def test_too_few_requests_judge_nothing_instead_of_passing() -> None:
    data = _recorded().to_json()
    slo = Slo(metric="p95_ms", endpoint="place", max=1000)
    assert judge_slo(slo, data, "during", 100, 102, 100).ok
    empty = judge_slo(slo, data, "during", 200, 202, 100)
    assert not empty.ok
    assert empty.error
    assert "too few" in empty.message
    breached = judge_slo(Slo(metric="p95_ms", endpoint="place", max=100), data, "x", 100, 102, 100)
    assert not breached.ok
    assert breached.observed is not None
    assert breached.observed > 100


def test_metric_value_of_an_empty_window() -> None:
    from harness.load.series import SecondBucket

    assert metric_value("requests", SecondBucket(), 1.0) == 0.0
    assert metric_value("error_rate", SecondBucket(), 1.0) is None
