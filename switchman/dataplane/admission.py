"""Admission and instance slots: the mechanism behind 429, the FIFO queue and least-busy choice.

Per deployment, a :class:`DeploymentGate` admits at most ``2 x max_concurrent x ready instances``
requests (beyond → :class:`TooManyRequestsError` at once, with the numbers). An admitted request then
takes a slot on the least-busy ready instance, or waits in the gate's FIFO queue — bounded, because
admission bounds it — until one is released. Slots are released in ``finally`` blocks by the caller,
so a timed-out or cancelled request cannot leak capacity.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from switchman.dataplane.errors import NoReadyInstanceError, TooManyRequestsError
from switchman.dataplane.policy import admission_limit, pick_instance
from switchman.dataplane.table import Deployment, Instance
from switchman.dataplane.upstream import UpstreamPool

EJECT_S = (
    1.0  # after a refused connection, skip the instance this long (the control plane will notice)
)


@dataclass(slots=True)
class InstanceSlot:
    """Live load of one instance; survives route-table swaps (keyed by instance id)."""

    instance: Instance
    pool: UpstreamPool
    active: int = 0
    failed_until: float = 0.0

    def eject(self, now: float) -> None:
        self.failed_until = now + EJECT_S


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[InstanceSlot]
    exclude: frozenset[str]


@dataclass(slots=True)
class DeploymentGate:
    """In-flight accounting and the FIFO queue of one deployment."""

    endpoint: str
    deployment: Deployment
    slots: list[InstanceSlot] = field(default_factory=list)
    in_flight: int = 0
    queue: deque[_Waiter] = field(default_factory=deque)

    @property
    def capacity(self) -> int:
        return self.deployment.max_concurrent_requests_per_instance

    @property
    def limit(self) -> int:
        return admission_limit(self.capacity, len(self.slots))

    def configure(self, deployment: Deployment, slots: list[InstanceSlot]) -> None:
        """Take a new table's settings and ready instances; hand waiters any new capacity."""
        self.deployment = deployment
        self.slots = slots
        self._pump()

    def admit(self) -> None:
        """Count one request in flight, or refuse it.

        Raises:
            NoReadyInstanceError: the deployment has no ready instance.
            TooManyRequestsError: the in-flight limit is reached (the body carries the numbers).
        """
        slots = self.slots
        # Azure ML's rule (policy.admission_limit), inlined: this runs once per request.
        if (
            slots
            and self.in_flight
            < 2 * self.deployment.max_concurrent_requests_per_instance * len(slots)
        ):
            self.in_flight += 1
            return
        name = self.deployment.name
        if not slots:
            total = len(self.deployment.instances)
            raise NoReadyInstanceError(
                f"Deployment {name!r} of endpoint {self.endpoint!r} has no ready instance "
                f"({total} instance(s), none ready): it is starting, scaling or failing; see "
                f"`switchman online-deployment get-logs -e {self.endpoint} -n {name}`.",
                deployment=name,
                details={"instances": total, "ready_instances": 0},
            )
        limit = self.limit
        if self.in_flight >= limit:
            raise TooManyRequestsError(
                f"Too many pending requests for deployment {name!r}: {self.in_flight} in flight, "
                f"limit {limit} = 2 x max_concurrent_requests_per_instance {self.capacity} x "
                f"{len(self.slots)} ready instance(s). Retry later or scale out.",
                deployment=name,
                headers=(("retry-after", "1"),),
                details={
                    "in_flight": self.in_flight,
                    "limit": limit,
                    "max_concurrent_requests_per_instance": self.capacity,
                    "ready_instances": len(self.slots),
                },
            )
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1

    def _eligible(self, exclude: frozenset[str], now: float) -> list[bool]:
        return [s.failed_until <= now and s.instance.id not in exclude for s in self.slots]

    async def acquire(self, exclude: frozenset[str] = frozenset()) -> InstanceSlot:
        """A slot on the least-busy eligible instance, waiting in FIFO order if all are busy.

        Raises:
            NoReadyInstanceError: no instance can take the request (all excluded or failing).
        """
        slot = self.try_acquire(exclude)
        if slot is not None:
            return slot
        future = self.wait(exclude)
        try:
            return await future
        except asyncio.CancelledError:
            self.forget(future)
            raise

    def try_acquire(self, exclude: frozenset[str] = frozenset()) -> InstanceSlot | None:
        """A slot now on the least-busy eligible instance, or None when the caller must :meth:`wait`.

        Raises:
            NoReadyInstanceError: no instance can take the request (all excluded or failing).
        """
        slots = self.slots
        if not self.queue:
            # Inline pick_instance for the common case: nothing excluded, nothing ejected.
            best: InstanceSlot | None = None
            best_load = self.deployment.max_concurrent_requests_per_instance
            now = 0.0
            for slot in slots:
                if slot.failed_until:
                    now = now or time.monotonic()
                    if slot.failed_until > now:
                        continue
                if exclude and slot.instance.id in exclude:
                    continue
                if slot.active < best_load:
                    best, best_load = slot, slot.active
            if best is not None:
                best.active += 1
                return best
        if not any(self._eligible(exclude, time.monotonic())):
            raise NoReadyInstanceError(
                f"Deployment {self.deployment.name!r} of endpoint {self.endpoint!r} has no instance "
                "that accepts connections right now.",
                deployment=self.deployment.name,
            )
        return None

    def wait(self, exclude: frozenset[str] = frozenset()) -> asyncio.Future[InstanceSlot]:
        """Join the FIFO queue; the future resolves with a slot (or NoReadyInstanceError)."""
        waiter = _Waiter(asyncio.get_running_loop().create_future(), exclude)
        self.queue.append(waiter)
        return waiter.future

    def forget(self, future: asyncio.Future[InstanceSlot]) -> None:
        """The waiter gave up (timed out, cancelled): cancel its place, or return a slot it got."""
        if not future.done():
            future.cancel()  # _pump skips done futures
        elif not future.cancelled() and future.exception() is None:
            self.release(future.result())  # granted just as it gave up

    def release(self, slot: InstanceSlot) -> None:
        """Give a slot back and pass capacity to the oldest waiter that can use it."""
        slot.active -= 1
        if self.queue:
            self._pump()

    def _pump(self) -> None:
        now = time.monotonic()
        loads = [s.active for s in self.slots]
        kept: deque[_Waiter] = deque()
        while self.queue:
            waiter = self.queue.popleft()
            if waiter.future.done():
                continue
            eligible = self._eligible(waiter.exclude, now)
            if not any(eligible):
                waiter.future.set_exception(
                    NoReadyInstanceError(
                        f"Deployment {self.deployment.name!r} of endpoint {self.endpoint!r} has no "
                        "ready instance left for this request.",
                        deployment=self.deployment.name,
                    )
                )
                continue
            index = pick_instance(loads, self.capacity, eligible)
            if index is None:
                kept.append(waiter)
                continue
            slot = self.slots[index]
            slot.active += 1
            loads[index] += 1
            waiter.future.set_result(slot)
        self.queue = kept

    def fail_all(self, reason: str) -> None:
        """The deployment left the table: fail everyone still waiting."""
        while self.queue:
            waiter = self.queue.popleft()
            if not waiter.future.done():
                waiter.future.set_exception(
                    NoReadyInstanceError(reason, deployment=self.deployment.name)
                )
