"""``LROPoller``: what every ``begin_*`` operation returns, as azure-core's poller behaves.

The operation's request is sent when ``begin_*`` is called; the poller only watches it finish.
``status()`` and ``done()`` never block (``done()`` polls once); ``wait()`` and ``result()`` poll
until the operation ends or the timeout passes. The clock and sleep are injectable so the polling
policy is unit-tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

IN_PROGRESS = "InProgress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"


@dataclass(frozen=True)
class Poll(Generic[T]):
    """One observation of an operation: still running, finished with a value, or failed."""

    status: str
    value: T | None = None
    error: BaseException | None = None


def running() -> Poll[T]:
    return Poll(IN_PROGRESS)


def succeeded(value: T) -> Poll[T]:
    return Poll(SUCCEEDED, value)


def failed(error: BaseException) -> Poll[T]:
    return Poll(FAILED, error=error)


def next_interval(current: float, *, factor: float = 1.5, ceiling: float = 0.5) -> float:
    """Back off between polls: quick for fast operations, at most ``ceiling`` seconds apart."""
    return min(current * factor, ceiling)


class LROPoller(Generic[T]):
    """A long-running operation (azure-core's ``LROPoller``).

    Args:
        poll: observes the operation once; returns a :class:`Poll`.
        timeout: default for ``result()``/``wait()`` in seconds (``None`` waits forever).
        clock, sleep: injected for tests.
    """

    def __init__(
        self,
        poll: Callable[[], Poll[T]],
        *,
        timeout: float | None = 900.0,
        first_interval: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._poll = poll
        self._timeout = timeout
        self._interval = first_interval
        self._clock = clock
        self._sleep = sleep
        self._last: Poll[T] = running()
        self._callbacks: list[Callable[[LROPoller[T]], None]] = []

    @classmethod
    def finished(cls, value: T) -> LROPoller[T]:
        """A poller for an operation that already completed (e.g. a local endpoint's)."""
        poller: LROPoller[T] = cls(lambda: succeeded(value))
        poller._observe()
        return poller

    def _observe(self) -> Poll[T]:
        if self._last.status == IN_PROGRESS:
            self._last = self._poll()
            if self._last.status != IN_PROGRESS:
                for callback in self._callbacks:
                    callback(self)
        return self._last

    def status(self) -> str:
        """``InProgress``, ``Succeeded`` or ``Failed`` as last observed (never blocks)."""
        return self._last.status

    def done(self) -> bool:
        """Whether the operation has ended (polls once when it had not)."""
        return self._observe().status != IN_PROGRESS

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the operation ends; a failure is raised, a timeout just returns."""
        self._run(timeout if timeout is not None else self._timeout, raise_timeout=False)
        if self._last.error is not None:
            raise self._last.error

    def result(self, timeout: float | None = None) -> T:
        """Wait for the operation and return its value; raise its error, or TimeoutError."""
        self._run(timeout if timeout is not None else self._timeout, raise_timeout=True)
        if self._last.error is not None:
            raise self._last.error
        return self._last.value  # type: ignore[return-value]

    def add_done_callback(self, func: Callable[[LROPoller[T]], None]) -> None:
        """Call ``func(poller)`` once the operation ends (at once when it has)."""
        if self._last.status != IN_PROGRESS:
            func(self)
        else:
            self._callbacks.append(func)

    def polling_method(self) -> LROPoller[T]:
        return self

    def _run(self, timeout: float | None, *, raise_timeout: bool) -> None:
        deadline = None if timeout is None else self._clock() + timeout
        while self._observe().status == IN_PROGRESS:
            if deadline is not None and self._clock() >= deadline:
                if raise_timeout:
                    raise TimeoutError(
                        f"The operation is still running after {timeout:.0f}s; call result() "
                        "again to keep waiting."
                    )
                return
            self._sleep(self._interval)
            self._interval = next_interval(self._interval)
