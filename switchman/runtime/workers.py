"""The threads user code runs on: exactly ``WORKER_COUNT`` of them, fed from one queue.

A plain ``SimpleQueue`` and a fixed set of threads cost less per call than
``loop.run_in_executor`` (no concurrent.futures/asyncio future pair); the job itself posts its
result back to the event loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

logger = logging.getLogger("azmlinfsrv")


class WorkerPool:
    """``size`` daemon threads running submitted jobs in FIFO order.

    At most ``size`` jobs run at once; the rest wait in the queue. Jobs must not raise (an escaped
    exception is logged and the thread carries on).
    """

    def __init__(self, size: int, name: str = "run-worker") -> None:
        self.size = size
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._queue.put(job)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            except BaseException:
                logger.exception("A worker job failed outside the scoring script")

    def shutdown(self, timeout: float = 1.0) -> None:
        """Ask the threads to stop once the queue is empty; wait up to ``timeout`` for them."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)
