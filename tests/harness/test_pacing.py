"""The client's manners (harness/pacing.py): a pace by slots, and Retry-After read as RFC
9110 says (seconds or an HTTP date). Clocks are injected: nothing here waits for real."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from harness.pacing import Pacer, retry_after_seconds


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self.lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)


def test_a_pace_spaces_requests_by_its_interval_and_not_an_idle_one() -> None:
    fake = FakeTime()
    pacer = Pacer(4, clock=fake.clock, sleep=fake.sleep)
    assert [pacer.wait() for _ in range(3)] == [0.0, 0.25, 0.5]
    assert fake.slept == [0.25, 0.5]
    fake.now += 10  # a long gap: the next request goes at once
    assert pacer.wait() == 0.0
    assert pacer.waited_s == pytest.approx(0.75)


def test_threads_never_share_a_slot() -> None:
    fake = FakeTime()
    pacer = Pacer(10, clock=fake.clock, sleep=fake.sleep)
    delays: list[float] = []
    lock = threading.Lock()

    def send() -> None:
        delay = pacer.wait()
        with lock:
            delays.append(round(delay, 6))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(delays) == [round(0.1 * i, 6) for i in range(8)]


def test_a_pace_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="above 0"):
        Pacer(0)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 0 ", 0.0),
        ("Thu, 03 Dec 2026 12:00:05 GMT", 5.0),
        ("Thu, 03 Dec 2026 11:59:00 GMT", 0.0),  # already past: go now
        (None, None),
        ("soon", None),
        ("-1", None),
        ("1.5", None),  # delta-seconds are whole
    ],
)
def test_retry_after_is_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(header, now=now) == seconds
