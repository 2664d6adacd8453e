"""Limits on what one client connection may cost the router: head size, header count, time.

The protocol (``protocol.py``) enforces the size limits as it parses; the time limits are enforced
here by one sweep over all connections every fraction of a second, so the hot path pays for two
timestamps per request and no timer objects. :func:`verdict` is the pure policy the sweep applies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

# Like nginx/Node/h11: 16 KiB of request line + headers and at most 100 header fields.
DEFAULT_HEAD_BYTES = 16 * 1024
DEFAULT_HEADER_COUNT = 100
DEFAULT_HEADER_TIMEOUT_S = 10.0
DEFAULT_KEEP_ALIVE_TIMEOUT_S = 75.0


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """How big a request head may be and how long a connection may take or sit idle."""

    head_bytes: int = DEFAULT_HEAD_BYTES
    header_count: int = DEFAULT_HEADER_COUNT
    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
    keep_alive_timeout_s: float = DEFAULT_KEEP_ALIVE_TIMEOUT_S


class Guarded(Protocol):
    """What the sweep reads and calls on a connection (``HttpProtocol``)."""

    head_since: float
    idle_since: float

    @property
    def waiting(self) -> bool: ...

    def timed_out(self) -> None: ...

    def close(self) -> None: ...


Verdict = Literal["keep", "timeout", "close"]


def verdict(
    head_since: float, idle_since: float, waiting: bool, now: float, limits: HeadLimits
) -> Verdict:
    """What to do with one connection at ``now``.

    ``timeout``: its request head began more than ``header_timeout_s`` ago and is still unfinished
    (slowloris) — answer 408 and close. ``close``: it has had nothing to do for more than
    ``keep_alive_timeout_s`` — close it quietly. ``keep`` otherwise (including while a request is
    being answered, however long the model takes: that is the deployment's request timeout's job).
    """
    if head_since and now - head_since > limits.header_timeout_s:
        return "timeout"
    if waiting and now - idle_since > limits.keep_alive_timeout_s:
        return "close"
    return "keep"


class ConnectionGuard:
    """Applies :func:`verdict` to every connection, periodically."""

    def __init__(
        self,
        connections: Callable[[], Iterable[Guarded]],
        limits: HeadLimits,
        clock: Callable[[], float],
    ) -> None:
        self._connections = connections
        self._limits = limits
        self._clock = clock
        self.timed_out = 0
        self.closed_idle = 0

    @property
    def interval(self) -> float:
        return max(0.05, min(1.0, self._limits.header_timeout_s / 4))

    def sweep(self) -> None:
        now = self._clock()
        limits = self._limits
        for conn in list(self._connections()):
            action = verdict(conn.head_since, conn.idle_since, conn.waiting, now, limits)
            if action == "timeout":
                self.timed_out += 1
                conn.timed_out()
            elif action == "close":
                self.closed_idle += 1
                conn.close()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.sweep()


__all__ = ["ConnectionGuard", "HeadLimits", "verdict"]
