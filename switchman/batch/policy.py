"""Mini-batch scheduling decisions: pure functions of (job state, clock) → actions (issue 10).

The scheduler (``switchman.batch.scheduler``) gathers a :class:`JobState` from the store, calls
:func:`plan`, and applies the actions; the worker routes call :func:`choose_lease` and
:func:`after_failure`. Nothing here reads a clock, a file or the store, so every rule (retries,
timeouts, error threshold, replacement of lost workers, node scale-down) is unit-tested with a
fake clock.

Semantics (reference §4.4): a mini-batch is tried once plus up to ``max_retries`` retries; a run()
past ``timeout`` seconds is aborted (its worker is killed and replaced) and counts as a failed try;
``error_threshold`` bounds the failed *items* over the whole job (-1: ignore every failure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class MiniBatchState(StrEnum):
    PENDING = "pending"  # waiting for a worker (first try or a retry)
    LEASED = "leased"  # a worker runs it; `deadline` bounds the try
    DONE = "done"  # its result is on disk: counts exactly once in the output
    FAILED = "failed"  # every try failed; its items count as failed


class WorkerState(StrEnum):
    STARTING = "starting"  # process started, init() not finished
    READY = "ready"  # init() done, leasing mini-batches
    EXITED = "exited"  # process gone (finished, crashed or killed)


LIVE_WORKERS = (WorkerState.STARTING, WorkerState.READY)
# A slot whose workers keep dying is given up after this many replacements.
MAX_REPLACEMENTS_PER_SLOT = 5


@dataclass(frozen=True)
class MiniBatch:
    index: int
    state: MiniBatchState
    items: int
    attempts: int = 0
    worker: str | None = None
    deadline: float | None = None
    items_failed: int = 0


@dataclass(frozen=True)
class Worker:
    id: str
    slot: tuple[str, int]  # (node, process index)
    state: WorkerState
    alive: bool = True  # what the compute backend observes now


@dataclass(frozen=True)
class JobState:
    minibatches: Sequence[MiniBatch]
    workers: Sequence[Worker]
    slots: Sequence[tuple[str, int]]
    max_retries: int
    error_threshold: int
    cancel_requested: bool = False
    init_error: str | None = None


@dataclass(frozen=True)
class StartWorker:
    slot: tuple[str, int]


@dataclass(frozen=True)
class StopWorker:
    worker: str
    reason: str


@dataclass(frozen=True)
class MarkExited:
    worker: str


@dataclass(frozen=True)
class Retry:
    index: int
    reason: str


@dataclass(frozen=True)
class GiveUp:
    index: int
    reason: str


@dataclass(frozen=True)
class Finalize:
    """Every mini-batch is done or failed within the threshold: merge the output."""


@dataclass(frozen=True)
class Finish:
    status: str  # Failed | Canceled
    message: str


Action = StartWorker | StopWorker | MarkExited | Retry | GiveUp | Finalize | Finish


def after_failure(attempts: int, max_retries: int) -> MiniBatchState:
    """Where a failed try sends its mini-batch: back to pending, or failed for good."""
    return MiniBatchState.PENDING if attempts <= max_retries else MiniBatchState.FAILED


def choose_lease(pending: Sequence[MiniBatch]) -> MiniBatch | None:
    """The mini-batch a free worker takes next: the lowest index first (output order is kept
    anyway by the merge; low first keeps progress readable and retries late)."""
    candidates = [m for m in pending if m.state == MiniBatchState.PENDING]
    if not candidates:
        return None
    return min(candidates, key=lambda m: (m.attempts, m.index))


def failed_items(minibatches: Sequence[MiniBatch]) -> int:
    """Items counted against error_threshold: all of a failed mini-batch, and the items a
    successful run() returned no row for."""
    return sum(m.items if m.state == MiniBatchState.FAILED else m.items_failed for m in minibatches)


def over_threshold(failed: int, threshold: int) -> bool:
    return threshold != -1 and failed > threshold


def plan(
    job: JobState, now: float, replacements: dict[tuple[str, int], int] | None = None
) -> list[Action]:
    """What to do for one running job at ``now``.

    Args:
        job: the job's mini-batches, workers and settings.
        now: wall-clock seconds (deadlines are stored as wall-clock times so they survive a
            control-plane restart).
        replacements: how many workers each slot has started so far (crash-loop guard).

    Returns:
        Actions in the order they must be applied.
    """
    replacements = replacements or {}
    actions: list[Action] = []
    live = [w for w in job.workers if w.state in LIVE_WORKERS]
    if job.cancel_requested or job.init_error:
        actions += [StopWorker(w.id, "job ended") for w in live]
        if job.cancel_requested:
            return [*actions, Finish("Canceled", "The job was canceled.")]
        return [*actions, Finish("Failed", str(job.init_error))]

    gone = {w.id for w in live if not w.alive}
    actions += [MarkExited(w) for w in sorted(gone)]
    by_id = {w.id: w for w in live}
    outcome: dict[int, MiniBatchState] = {}
    for mb in job.minibatches:
        if mb.state != MiniBatchState.LEASED:
            continue
        worker = by_id.get(mb.worker or "")
        if worker is None or worker.id in gone:
            reason = "the worker process running it exited"
        elif mb.deadline is not None and now > mb.deadline:
            actions.append(StopWorker(worker.id, f"mini-batch {mb.index} timed out"))
            gone.add(worker.id)
            reason = "run() exceeded retry_settings.timeout"
        else:
            continue
        state = after_failure(mb.attempts, job.max_retries)
        outcome[mb.index] = state
        actions.append(
            Retry(mb.index, reason) if state == MiniBatchState.PENDING else GiveUp(mb.index, reason)
        )

    settled = [
        MiniBatch(
            m.index, outcome.get(m.index, m.state), m.items, m.attempts, None, None, m.items_failed
        )
        for m in job.minibatches
    ]
    if over_threshold(failed_items(settled), job.error_threshold):
        actions += [StopWorker(w.id, "error threshold") for w in live if w.id not in gone]
        return [
            *actions,
            Finish(
                "Failed",
                f"The job failed: {failed_items(settled)} failed items exceed error_threshold "
                f"{job.error_threshold}. See logs/user/error.txt (`switchman job download --all`).",
            ),
        ]
    open_work = [m for m in settled if m.state in (MiniBatchState.PENDING, MiniBatchState.LEASED)]
    if not open_work:
        return [*actions, Finalize()]

    pending = sum(1 for m in settled if m.state == MiniBatchState.PENDING)
    occupied = {w.slot for w in live if w.id not in gone}
    wanted = pending
    for slot in job.slots:
        if wanted <= 0:
            break
        if slot in occupied:
            continue
        if replacements.get(slot, 0) > MAX_REPLACEMENTS_PER_SLOT:
            continue
        actions.append(StartWorker(slot))
        occupied.add(slot)
        wanted -= 1
    if not occupied and pending:
        return [
            *actions,
            Finish(
                "Failed",
                "The job failed: its worker processes kept exiting before finishing a mini-batch; "
                "see logs/user/stdout and logs/user/error (`switchman job download --all`).",
            ),
        ]
    return actions


@dataclass(frozen=True)
class Node:
    name: str
    job: str | None
    idle_since: float | None


@dataclass(frozen=True)
class NodePlan:
    reuse: list[str] = field(default_factory=list)  # idle nodes the job takes
    create: int = 0  # new nodes to provision


def allocate(nodes: Sequence[Node], max_instances: int, wanted: int) -> NodePlan:
    """Nodes for a job that wants ``wanted`` of them: idle ones first, then new ones up to
    ``max_instances``; an empty plan means the job waits in Queued."""
    idle = sorted(n.name for n in nodes if n.job is None)
    reuse = idle[:wanted]
    room = max(0, max_instances - len(nodes))
    create = min(wanted - len(reuse), room)
    return NodePlan(reuse, create)


def release(nodes: Sequence[Node], min_instances: int, idle_time: float, now: float) -> list[str]:
    """Idle nodes whose idle time is up, longest-idle first, keeping ``min_instances``."""
    spare = len(nodes) - min_instances
    expired = sorted(
        (
            n
            for n in nodes
            if n.job is None and n.idle_since is not None and now - n.idle_since >= idle_time
        ),
        key=lambda n: (n.idle_since or 0.0, n.name),
    )
    return [n.name for n in expired[: max(0, spare)]]
