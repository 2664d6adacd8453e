"""One request forwarded to one deployment, driven by callbacks instead of a task per request.

An :class:`Exchange` walks: admit (done by the caller) → instance slot (now, or from the gate's FIFO
queue) → pooled connection (idle, or a new one) → one write of the request → the response from the
connection's parser callbacks → ``done(exchange)``. The common case (a free slot and an idle
connection) is a chain of plain calls: no task, no future, no timeout context.

Retry-before-send: when nothing reached an instance (refused connection, pooled connection found
closed) the instance is ejected for a moment and the request is offered to another one; once bytes
may have reached an instance it is never retried, so ``run()`` never executes twice for one request.

Deadlines: :class:`DeadlineSweep` keeps exchanges in one FIFO per timeout value (deadlines in a FIFO
are then in order) and one loop timer for the earliest; an exchange that finishes in time costs one
``append``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable

from switchman.dataplane.admission import DeploymentGate, InstanceSlot
from switchman.dataplane.errors import (
    InternalError,
    RequestTimeoutError,
    ScoringError,
)
from switchman.dataplane.table import Deployment
from switchman.dataplane.upstream import (
    ConnectFailed,
    UpstreamConnection,
    UpstreamLost,
    UpstreamResponse,
)

log = logging.getLogger(__name__)

# Builds the request bytes for the chosen instance (its host header differs per instance).
Encoder = Callable[[InstanceSlot], bytes]


class Exchange:
    """One admitted request on its way to an instance of ``deployment``.

    Exactly one of ``response`` / ``error`` is set when ``done(self)`` is called, once. The gate's
    in-flight count, the instance slot and the connection are always given back, whatever happens.
    """

    __slots__ = (
        "_conn",
        "_done",
        "_encode",
        "_tried",
        "_waiting",
        "deadline",
        "deployment",
        "error",
        "finished",
        "gate",
        "response",
        "slot",
    )

    def __init__(
        self,
        gate: DeploymentGate,
        deployment: Deployment,
        encode: Encoder,
        done: Callable[[Exchange], None],
    ) -> None:
        self.gate = gate
        self.deployment = deployment
        self._encode: Encoder | None = encode
        self._done: Callable[[Exchange], None] | None = done
        self._tried: frozenset[str] = frozenset()
        self._waiting: asyncio.Future[InstanceSlot] | None = None
        self._conn: UpstreamConnection | None = None
        self.slot: InstanceSlot | None = None
        self.deadline = math.inf
        self.finished = False
        self.response: UpstreamResponse | None = None
        self.error: ScoringError | None = None

    # -- the walk --------------------------------------------------------------------------------
    def start(self) -> None:
        """Go (the caller has already passed ``gate.admit()``)."""
        try:
            slot = self.gate.try_acquire(self._tried)
        except ScoringError as exc:
            self._finish(None, exc)
            return
        if slot is None:
            future = self._waiting = self.gate.wait(self._tried)
            future.add_done_callback(self._on_slot)
            return
        self._use(slot)

    def _on_slot(self, future: asyncio.Future[InstanceSlot]) -> None:
        if future is not self._waiting:  # gave up meanwhile: _leave_queue() settled the future
            return
        self._waiting = None
        if future.cancelled():
            self._finish(None, InternalError("The router gave up waiting for an instance."))
            return
        exc = future.exception()
        if exc is not None:
            self._fail(exc)
            return
        self._use(future.result())

    def _use(self, slot: InstanceSlot) -> None:
        self.slot = slot
        conn = slot.pool.take_idle()
        if conn is None:
            task = asyncio.get_running_loop().create_task(slot.pool.connect())
            task.add_done_callback(self._on_connect)
            return
        self._send(conn)

    def _on_connect(self, task: asyncio.Task[UpstreamConnection]) -> None:
        if task.cancelled():
            if not self.finished:
                self._finish(None, InternalError("Connecting to the instance was cancelled."))
            return
        exc = task.exception()
        if self.finished:  # timed out while connecting: keep a good new connection for later
            slot_pool = self.slot.pool if self.slot is not None else None
            if exc is None and slot_pool is not None:
                slot_pool.release(task.result())
            elif exc is None:
                task.result().close()
            return
        if exc is not None:
            if isinstance(exc, ConnectFailed):
                self._retry()
            else:
                self._fail(exc)
            return
        self._send(task.result())

    def _send(self, conn: UpstreamConnection) -> None:
        slot = self.slot
        assert slot is not None and self._encode is not None
        try:
            data = self._encode(slot)
            conn.start(data, self)
        except ConnectFailed:
            conn.close()
            self._retry()
            return
        except Exception as exc:
            conn.close()
            self._fail(exc)
            return
        self._conn = conn

    def _retry(self) -> None:
        # Nothing reached this instance: safe to offer the request to another one.
        slot = self.slot
        assert slot is not None
        slot.eject(time.monotonic())
        self._tried = self._tried | {slot.instance.id}
        self.slot = None
        self.gate.release(slot)
        self.start()

    # -- the connection's listener ------------------------------------------------------------
    def on_response(self, response: UpstreamResponse) -> None:
        conn, slot = self._conn, self.slot
        self._conn = None
        if slot is not None and conn is not None:
            slot.pool.release(conn)
        self._finish(response, None)

    def on_lost(self, error: UpstreamLost) -> None:
        self._conn = None
        slot = self.slot
        instance = slot.instance.id if slot is not None else "?"
        name = self.deployment.name
        self._finish(
            None,
            InternalError(
                f"Instance {instance!r} of deployment {name!r} dropped the connection while "
                f"handling the request ({error}); see its logs.",
                code="InstanceConnectionLost",
                deployment=name,
            ),
        )

    # -- endings -----------------------------------------------------------------------------
    def expire(self) -> None:
        """The deadline passed: answer 408 now; the instance's late answer is dropped."""
        if self.finished:
            return
        conn = self._conn
        self._conn = None
        if conn is not None:
            conn.abandon()  # the answer may still come; never reuse this connection
        self._leave_queue()
        dep = self.deployment
        self._finish(
            None,
            RequestTimeoutError(
                f"The request to deployment {dep.name!r} took longer than its request_timeout_ms "
                f"({dep.request_timeout_ms} ms); raise request_timeout_ms or make run() faster.",
                deployment=dep.name,
            ),
        )

    def abort(self) -> None:
        """Give up without an answer worth keeping (router shutdown)."""
        if self.finished:
            return
        conn = self._conn
        self._conn = None
        if conn is not None:
            conn.abandon()
        self._leave_queue()
        self._finish(None, InternalError("The router is shutting down."))

    def _leave_queue(self) -> None:
        waiting = self._waiting
        self._waiting = None
        if waiting is not None:
            self.gate.forget(waiting)  # cancels our place, or returns a slot granted meanwhile

    def _fail(self, exc: BaseException) -> None:
        if isinstance(exc, ScoringError):
            self._finish(None, exc)
            return
        log.error("forwarding to deployment %s failed", self.deployment.name, exc_info=exc)
        self._finish(None, InternalError(f"The router failed: {exc!r}."))

    def _finish(self, response: UpstreamResponse | None, error: ScoringError | None) -> None:
        if self.finished:
            return
        self.finished = True
        self.response, self.error = response, error
        slot = self.slot
        self.slot = None
        gate = self.gate
        if slot is not None:
            gate.release(slot)
        gate.leave()
        done = self._done
        self._done = self._encode = None  # a finished exchange may sit in a sweep FIFO a while
        if done is not None:
            done(self)
        self.response = None  # the body is the client's now; do not keep it alive here


class DeadlineSweep:
    """Request deadlines with one loop timer: FIFOs per timeout, swept when the earliest is due."""

    def __init__(self) -> None:
        self._fifos: dict[float, deque[Exchange]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._sweeping = False

    def add(self, exchange: Exchange, timeout_s: float) -> None:
        """Expire ``exchange`` after ``timeout_s`` unless it has finished by then."""
        deadline = exchange.deadline = time.monotonic() + timeout_s
        fifo = self._fifos.get(timeout_s)
        if fifo is None:
            fifo = self._fifos[timeout_s] = deque()
        while fifo and fifo[0].finished:  # keeps the FIFO about as long as what is in flight
            fifo.popleft()
        fifo.append(exchange)
        if deadline < self._timer_at and not self._sweeping:
            self._arm(deadline)

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        # The loop's clock may have another origin than time.monotonic(): convert by difference.
        self._timer = loop.call_at(loop.time() + max(0.0, deadline - time.monotonic()), self._sweep)
        self._timer_at = deadline

    def _sweep(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        self._sweeping = True  # expire() answers clients, which may add exchanges meanwhile
        try:
            now = time.monotonic()
            for fifo in list(self._fifos.values()):
                while fifo:
                    head = fifo[0]
                    if head.finished:
                        fifo.popleft()
                    elif head.deadline <= now:
                        fifo.popleft()
                        head.expire()
                    else:
                        break
        finally:
            self._sweeping = False
        earliest = math.inf
        for key, fifo in list(self._fifos.items()):
            if fifo:
                earliest = min(earliest, fifo[0].deadline)
            else:
                del self._fifos[key]
        if earliest < math.inf:
            self._arm(earliest)

    def close(self) -> None:
        """Stop the timer and forget every deadline."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = math.inf
        self._fifos.clear()
