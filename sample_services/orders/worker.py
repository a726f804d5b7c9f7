"""The threads that run sagas in the background, started and stopped by the app lifespan.

New orders are handed over by POST /orders; a scanner also picks up every unfinished saga
at start and then periodically, so an order accepted just before a crash (or one whose
compensation had to wait) is carried on without anyone asking. An order id is claimed
while queued or running, so one process never runs the same saga twice at once.

Several orders processes on one database would each scan and could run one saga side by
side. Steps are idempotent and status changes conditional, so rows stay consistent, but a
charge landing after the other runner's refund lookup would stay captured: run one orders
process per database (the fleet does), or add a lease before scaling out.
"""

from __future__ import annotations

import logging
import queue
import threading

from sample_services.common.app import detach_context
from sample_services.orders.saga import Saga, Stopped, Unfinished

log = logging.getLogger("sample_services.orders.worker")

_POLL = 0.2


class SagaWorker:
    def __init__(self, saga: Saga, *, workers: int, scan_interval: float) -> None:
        self.saga = saga
        self.workers = workers
        self.scan_interval = scan_interval
        self._queue: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._claimed: set[str] = set()
        # Orders a provider state parked: the worker leaves them exactly as set up.
        self._held: set[str] = set()
        self._threads: list[threading.Thread] = []

    @property
    def running(self) -> bool:
        return bool(self._threads)

    def start(self) -> None:
        if self.workers == 0 or self._threads:
            return
        self.saga.stopping.clear()
        self._threads = [
            threading.Thread(target=self._work, name=f"saga-worker-{i}", daemon=True)
            for i in range(self.workers)
        ]
        self._threads.append(threading.Thread(target=self._scan, name="saga-scan", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self.saga.stopping.set()
        # An HTTP call in flight ends within the client's bounds; then the thread sees stop.
        timeout = self.saga.settings.worst_case_latency() + 1.0
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        with self._lock:
            self._claimed.clear()
        while not self._queue.empty():
            self._queue.get_nowait()

    def submit(self, order_id: str) -> bool:
        """Queue the order's saga unless it is queued, running or held already."""
        if not self.running:
            return False
        with self._lock:
            if order_id in self._claimed or order_id in self._held:
                return False
            self._claimed.add(order_id)
        self._queue.put(order_id)
        return True

    def hold(self, order_id: str) -> None:
        with self._lock:
            self._held.add(order_id)

    def release_hold(self, order_id: str) -> None:
        with self._lock:
            self._held.discard(order_id)

    def release_holds(self) -> None:
        with self._lock:
            self._held.clear()

    def _work(self) -> None:
        detach_context()
        while not self.saga.stopping.is_set():
            try:
                order_id = self._queue.get(timeout=_POLL)
            except queue.Empty:
                continue
            try:
                self.saga.run(order_id)
            except Stopped:
                return
            except Unfinished:
                pass  # logged by the saga; the scanner carries on from the rows later
            except Exception:
                # A database outage, say: the saga's rows are intact and the scanner
                # resumes it; the worker itself must live on.
                log.exception("saga interrupted", extra={"order_id": order_id})
            finally:
                with self._lock:
                    self._claimed.discard(order_id)

    def _scan(self) -> None:
        detach_context()
        delay = 0.0
        while not self.saga.stopping.wait(delay):
            delay = self.scan_interval
            try:
                for order_id in self.saga.unfinished():
                    self.submit(order_id)
            except Exception:
                log.exception("scan for unfinished sagas failed")
