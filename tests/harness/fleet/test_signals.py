"""SIGTERM as an exception, and signals held back while a teardown runs."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from harness.fleet.signals import Terminated, deferred, sigterm_raises


def test_sigterm_raises_terminated_and_the_old_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated) as caught, sigterm_raises():
        os.kill(os.getpid(), signal.SIGTERM)
    assert caught.value.signum == signal.SIGTERM
    # A KeyboardInterrupt: every runner that handles Ctrl-C handles SIGTERM alike.
    assert isinstance(caught.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) == before


def teardown_hit_by_two_signals(log: list[object]) -> None:
    with sigterm_raises(), deferred() as received:
        log.append(received)
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        log.append("finished")  # not interrupted: the teardown goes on
    log.append("not reached: the held SIGTERM is delivered after the block")


def test_deferred_holds_signals_until_the_block_is_done() -> None:
    log: list[object] = []
    with pytest.raises(Terminated):
        teardown_hit_by_two_signals(log)
    assert log == [[signal.SIGTERM, signal.SIGINT], "finished"]


def test_deferred_without_signals_changes_nothing() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with deferred() as received:
        pass
    assert received == []
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_outside_the_main_thread_both_are_no_ops() -> None:
    results: list[object] = []

    def work() -> None:
        with sigterm_raises(), deferred() as received:
            results.append(received)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert results == [[]]
