"""LROPoller: status/done never block, wait/result poll with back-off, errors and timeouts."""

from __future__ import annotations

import pytest

from switchman.ml.exceptions import HttpResponseError
from switchman.ml.poller import LROPoller, Poll, failed, next_interval, running, succeeded


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(*polls: Poll[str]) -> tuple[list[int], object]:
    calls = [0]

    def poll() -> Poll[str]:
        calls[0] += 1
        return polls[min(calls[0], len(polls)) - 1]

    return calls, poll


def make(polls: list[Poll[str]], clock: FakeClock, timeout: float | None = 10.0) -> LROPoller[str]:
    _, poll = scripted(*polls)
    return LROPoller(poll, timeout=timeout, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


def test_result_polls_until_done_with_backoff() -> None:
    clock = FakeClock()
    poller = make([running(), running(), running(), succeeded("ep")], clock)
    assert poller.status() == "InProgress"  # nothing observed yet, nothing blocks
    assert poller.result() == "ep"
    assert poller.status() == "Succeeded" and poller.done()
    assert clock.sleeps == pytest.approx([0.05, 0.075, 0.1125])
    assert next_interval(0.4) == 0.5 and next_interval(0.5) == 0.5


def test_done_polls_once_and_callbacks_fire_once() -> None:
    clock = FakeClock()
    seen: list[str] = []
    poller = make([running(), succeeded("x")], clock)
    poller.add_done_callback(lambda p: seen.append(p.status()))
    assert poller.done() is False
    assert poller.done() is True
    assert poller.done() is True
    assert seen == ["Succeeded"]
    poller.add_done_callback(lambda p: seen.append("late"))  # already done: called at once
    assert seen == ["Succeeded", "late"] and clock.sleeps == []


def test_failure_is_raised_by_result_and_wait() -> None:
    clock = FakeClock()
    error = HttpResponseError(
        "Deployment 'blue' failed: init() raised", code="UserScriptInitFailed"
    )
    poller = make([running(), failed(error)], clock)
    with pytest.raises(HttpResponseError, match="init"):
        poller.result()
    assert poller.status() == "Failed"
    with pytest.raises(HttpResponseError):
        poller.wait()


def test_timeouts_result_raises_wait_returns() -> None:
    clock = FakeClock()
    poller = make([running()], clock, timeout=1.0)
    with pytest.raises(TimeoutError, match="still running"):
        poller.result()
    assert clock.now >= 1.0
    poller.wait(timeout=0.5)  # returns without raising
    assert poller.status() == "InProgress"


def test_finished_poller() -> None:
    poller = LROPoller.finished("done")
    assert poller.done() and poller.status() == "Succeeded" and poller.result() == "done"
