"""Stages -> the load shape and the open model's arrival schedule; the per-second series."""

from __future__ import annotations

import pytest

from harness.load.series import SeriesRecorder, intervals
from harness.load.stages import ArrivalSchedule, compile_stages, shape_at


def test_closed_stages_ramp_within_their_duration() -> None:
    stages = compile_stages(
        [{"duration": 10, "users": 20}, {"duration": 5, "users": 20}, {"duration": 5, "users": 0}],
        default_spawn_rate=None,
    )
    assert [s.end_s for s in stages] == [10, 15, 20]
    assert shape_at(stages, 0) == (20, 2.0)  # 20 users over 10 s
    assert shape_at(stages, 12) == (20, 1.0)  # flat: at least 1/s
    assert shape_at(stages, 19.9) == (0, 4.0)
    assert shape_at(stages, 20) is None


def test_open_stages_run_the_pool_and_schedule_arrivals() -> None:
    stages = compile_stages(
        [{"duration": 2, "rate": 5}, {"duration": 1, "rate": 0}, {"duration": 1, "rate": 10}], None
    )
    assert shape_at(stages, 0.5, pool=8) == (8, 8.0)
    schedule = ArrivalSchedule(stages)
    times = []
    while (t := schedule.next()) is not None:
        times.append(t)
    assert times[:3] == pytest.approx([0.0, 0.2, 0.4])
    assert len([t for t in times if t < 2]) == 10
    assert not [t for t in times if 2 <= t < 3]  # rate 0: nothing arrives
    assert len([t for t in times if t >= 3]) == 10


def test_a_worker_takes_its_share_of_the_rate() -> None:
    stages = compile_stages([{"duration": 4, "rate": 10}], None)
    schedule = ArrivalSchedule(stages, share=0.5)
    assert sum(1 for _ in iter(schedule.next, None)) == 20


def test_series_from_a_worker_merges_on_the_master() -> None:
    worker = SeriesRecorder(reports_to_master=True)
    master = SeriesRecorder()
    worker.record(100.2, 12, failed=False)
    worker.record(100.7, 180, failed=True)
    master.absorb(worker.drain())
    worker.record(101.1, 14, failed=False)
    master.absorb(worker.drain())
    assert worker.drain() == {}
    assert {k: (v.requests, v.failures) for k, v in master.seconds.items()} == {
        100: (2, 1),
        101: (1, 0),
    }


def test_intervals_rate_partial_seconds_by_their_covered_part() -> None:
    recorder = SeriesRecorder()
    for i in range(10):
        recorder.record(100.5 + i / 20, 20, failed=False)  # 10 requests in 100.5 .. 100.95
    for i in range(20):
        recorder.record(101 + i / 20, 40, failed=i == 0)
    recorder.sample_users(101.2, 4)
    timeline = intervals(recorder.to_json(), start=100.5, stop=102.0, warmup_s=0.5)
    first, second = timeline.points[:2]
    assert first.rps == pytest.approx(20.0)  # 10 requests in the half second covered
    assert (second.rps, second.failures_per_s, second.users, second.p95_ms) == (20.0, 1.0, 4, 40)
    assert timeline.end_s == 1.5


def test_a_second_without_a_user_sample_keeps_the_last_count() -> None:
    # A busy machine starves the sampler: 101 and 103 have no sample. The pool did not
    # vanish; the timeline must not draw it dropping to 0 (as it did before).
    recorder = SeriesRecorder()
    for second, users in ((99, 6), (100, 6), (102, 6), (104, 3)):
        recorder.sample_users(second + 0.4, users)
    timeline = intervals(recorder.to_json(), start=100.0, stop=105.0, warmup_s=0)
    assert [p.users for p in timeline.points] == [6, 6, 6, 6, 3, 3]
    # Before the first sample of the run, the count sampled before it (here: none) holds.
    late = intervals(recorder.to_json(), start=98.0, stop=99.5, warmup_s=0)
    assert [p.users for p in late.points] == [0, 6]
