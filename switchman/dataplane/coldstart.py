"""Scale to zero, the router's part (issue #12): hold requests for a deployment at zero instances.

A deployment the control plane may take to zero is marked ``scale_to_zero`` in the route table.
A request for it while it has no ready instance is held here — in a bounded FIFO per deployment
(beyond ``limit``: 429 at once, with the numbers) — and the router asks the control plane to wake
the deployment: ``POST /api/autoscale/wake`` on loopback with the wake token from ``routes.json``
(a file only the platform's user can read), repeated every second while requests wait. When a
table with a ready instance arrives, held requests go on in arrival order; one still waiting when
its ``request_timeout_ms`` passes gets a 503 that says so. The first release records
``ColdStartLatency`` (first held request → released, ms).

Nothing here runs on the hot path of a deployment that has instances: the service only calls
:meth:`ColdStart.hold` when the gate has no slot and the deployment is marked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from switchman.dataplane.errors import NoReadyInstanceError, TooManyRequestsError
from switchman.dataplane.metrics import MetricRecord
from switchman.dataplane.table import Deployment, Endpoint, RouteTable, WakeTarget

if TYPE_CHECKING:
    from switchman.dataplane.admission import DeploymentGate
    from switchman.dataplane.service import ScoringService
    from switchman.dataplane.store import StateWriter

log = logging.getLogger(__name__)

WAKE_EVERY_S = 1.0  # repeat the wake call while requests wait (a restarting control plane)
WAKE_TIMEOUT_S = 2.0


@dataclass(slots=True)
class _Held:
    call: Any  # the service's _Call
    timer: asyncio.TimerHandle | None = None


@dataclass(slots=True)
class _Queue:
    endpoint: str
    deployment: str
    since: float = 0.0  # monotonic time of the first held request
    calls: deque[_Held] = field(default_factory=deque)
    rewake: asyncio.TimerHandle | None = None


class ColdStart:
    """The held requests of every deployment at zero. Runs on the event loop only.

    Args:
        service: the scoring service (``resume`` / ``reject`` answer held requests).
        writer: where ColdStartLatency rows go (None in unit tests).
        limit: requests held per deployment at most; more get 429.
    """

    def __init__(
        self, service: ScoringService, writer: StateWriter | None, *, limit: int = 100
    ) -> None:
        self.service = service
        self.writer = writer
        self.limit = limit
        self.wake_target: WakeTarget | None = None
        self._queues: dict[tuple[str, str], _Queue] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.wakes_sent = 0

    def held_counts(self) -> dict[tuple[str, str], int]:
        return {key: len(q.calls) for key, q in self._queues.items() if q.calls}

    # -- holding ---------------------------------------------------------------------------------
    def hold(self, ep: Endpoint, dep: Deployment, call: Any) -> None:
        """Hold ``call`` until ``dep`` has a ready instance, its timeout passes, or it goes away.

        Raises:
            TooManyRequestsError: ``limit`` requests already wait for this deployment.
        """
        key = (ep.name, dep.name)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue(ep.name, dep.name)
        if len(queue.calls) >= self.limit:
            raise TooManyRequestsError(
                f"Deployment {dep.name!r} of endpoint {ep.name!r} is scaled to zero and starting an "
                f"instance; {len(queue.calls)} requests already wait for it (limit {self.limit}). "
                "Retry in a moment.",
                deployment=dep.name,
                headers=(("retry-after", "1"),),
                details={"held": len(queue.calls), "limit": self.limit},
            )
        loop = asyncio.get_running_loop()
        held = _Held(call)
        held.timer = loop.call_later(
            dep.request_timeout_ms / 1000.0, self._expire, key, held, dep.request_timeout_ms
        )
        if not queue.calls:
            queue.since = time.monotonic()
        queue.calls.append(held)
        if queue.rewake is None:
            self._wake(key)

    def _expire(self, key: tuple[str, str], held: _Held, timeout_ms: int) -> None:
        queue = self._queues.get(key)
        if queue is None or held not in queue.calls:
            return
        queue.calls.remove(held)
        ep, dep = key
        self.service.reject(
            held.call,
            NoReadyInstanceError(
                f"Deployment {dep!r} of endpoint {ep!r} is scaled to zero and no instance became "
                f"ready within request_timeout_ms ({timeout_ms} ms). An instance is starting: "
                "retry shortly, raise request_timeout_ms, or keep one instance warm with "
                "`switchman monitor autoscale update --min-count 1`.",
                code="ColdStartTimeout",
                deployment=dep,
                details={"request_timeout_ms": timeout_ms},
            ),
        )
        self._settle(key)

    def _settle(self, key: tuple[str, str]) -> None:
        queue = self._queues.get(key)
        if queue is not None and not queue.calls:
            if queue.rewake is not None:
                queue.rewake.cancel()
            del self._queues[key]

    # -- a new route table -----------------------------------------------------------------------
    def installed(self, table: RouteTable, gates: dict[tuple[str, str], DeploymentGate]) -> None:
        """Release what a ready instance can take now; fail what lost its deployment."""
        self.wake_target = table.wake
        for key in list(self._queues):
            queue = self._queues[key]
            gate = gates.get(key)
            ep = table.endpoints.get(key[0])
            if gate is None or ep is None:
                for held in self._drain(queue):
                    self.service.reject(
                        held.call,
                        NoReadyInstanceError(
                            f"Deployment {key[1]!r} of endpoint {key[0]!r} was removed while the "
                            "request waited for it to wake.",
                            deployment=key[1],
                        ),
                    )
                self._settle(key)
                continue
            if not gate.slots:
                continue
            waited_ms = (time.monotonic() - queue.since) * 1000.0
            dep = ep.deployments[key[1]]
            for held in self._drain(queue):
                self.service.resume(ep, dep, held.call)
            self._settle(key)
            log.info("deployment %s/%s woke from zero in %.0f ms", key[0], key[1], waited_ms)
            if self.writer is not None:
                dims = {"deployment": key[1]}
                self.writer.add_records(
                    [
                        MetricRecord(
                            time.time(), key[0], key[1], "", "ColdStartLatency", dims, waited_ms
                        )
                    ]
                )

    @staticmethod
    def _drain(queue: _Queue) -> list[_Held]:
        out = list(queue.calls)
        queue.calls.clear()
        for held in out:
            if held.timer is not None:
                held.timer.cancel()
        return out

    # -- waking ----------------------------------------------------------------------------------
    def _wake(self, key: tuple[str, str]) -> None:
        queue = self._queues.get(key)
        if queue is None or not queue.calls:
            return
        target = self.wake_target
        if target is not None:
            task = asyncio.get_running_loop().create_task(
                self._send(target, key[0], key[1], len(queue.calls))
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        queue.rewake = asyncio.get_running_loop().call_later(WAKE_EVERY_S, self._wake, key)

    async def _send(self, target: WakeTarget, endpoint: str, deployment: str, held: int) -> None:
        body = json.dumps({"endpoint": endpoint, "deployment": deployment, "held": held}).encode()
        head = (
            f"POST {target.path} HTTP/1.1\r\nhost: {target.host}:{target.port}\r\n"
            f"authorization: Bearer {target.token}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        ).encode()
        writer = None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(target.host, target.port), WAKE_TIMEOUT_S
            )
            writer.write(head + body)
            status = await asyncio.wait_for(reader.readline(), WAKE_TIMEOUT_S)
            self.wakes_sent += 1
            if b" 200 " not in status:
                log.warning("wake call for %s/%s answered %r", endpoint, deployment, status[:80])
        except (OSError, TimeoutError) as exc:
            log.warning("wake call for %s/%s failed: %s (will retry)", endpoint, deployment, exc)
        finally:
            if writer is not None:
                writer.close()

    def close(self) -> None:
        """Stop re-waking and cancel wake calls in flight (router shutdown)."""
        for queue in self._queues.values():
            if queue.rewake is not None:
                queue.rewake.cancel()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(RuntimeError):
            self._tasks.clear()
