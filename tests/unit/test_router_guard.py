"""The connection guard's policy (fake clock) and its sweep over fake connections."""

from __future__ import annotations

from switchman.dataplane.guard import ConnectionGuard, HeadLimits, verdict

LIMITS = HeadLimits(header_timeout_s=10.0, keep_alive_timeout_s=75.0)


def test_unfinished_head_past_the_header_timeout_times_out() -> None:
    assert verdict(100.0, 0.0, False, 109.9, LIMITS) == "keep"
    assert verdict(100.0, 0.0, False, 110.1, LIMITS) == "timeout"


def test_idle_keep_alive_is_closed_after_its_timeout_only_when_waiting() -> None:
    assert verdict(0.0, 100.0, True, 174.0, LIMITS) == "keep"
    assert verdict(0.0, 100.0, True, 176.0, LIMITS) == "close"
    # busy (a slow model, a body upload): never closed by the guard
    assert verdict(0.0, 100.0, False, 1000.0, LIMITS) == "keep"


class FakeConn:
    def __init__(self, head_since: float, idle_since: float, waiting: bool) -> None:
        self.head_since = head_since
        self.idle_since = idle_since
        self._waiting = waiting
        self.events: list[str] = []

    @property
    def waiting(self) -> bool:
        return self._waiting

    def timed_out(self) -> None:
        self.events.append("408")

    def close(self) -> None:
        self.events.append("close")


def test_sweep_applies_the_verdict_to_each_connection() -> None:
    now = [200.0]
    slow = FakeConn(150.0, 0.0, False)
    idle = FakeConn(0.0, 100.0, True)
    fresh = FakeConn(0.0, 199.0, True)
    conns = [slow, idle, fresh]
    guard = ConnectionGuard(lambda: conns, LIMITS, lambda: now[0])
    guard.sweep()
    assert (slow.events, idle.events, fresh.events) == (["408"], ["close"], [])
    assert (guard.timed_out, guard.closed_idle) == (1, 1)
    assert 0.05 <= guard.interval <= 1.0
