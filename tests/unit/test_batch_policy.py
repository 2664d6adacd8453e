"""The mini-batch scheduling policy: retries, timeouts, error threshold, lost workers, nodes."""

from __future__ import annotations

from switchman.batch.policy import (
    MAX_REPLACEMENTS_PER_SLOT,
    Finalize,
    Finish,
    GiveUp,
    JobState,
    MarkExited,
    MiniBatch,
    MiniBatchState,
    Node,
    Retry,
    StartWorker,
    StopWorker,
    Worker,
    WorkerState,
    after_failure,
    allocate,
    choose_lease,
    failed_items,
    plan,
    release,
)
from switchman.batch.worker import rows_of

P, L, D, F = (
    MiniBatchState.PENDING,
    MiniBatchState.LEASED,
    MiniBatchState.DONE,
    MiniBatchState.FAILED,
)
SLOTS = [("n1", 0), ("n1", 1)]


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def _job(minibatches, workers=(), **kw) -> JobState:
    return JobState(
        minibatches=list(minibatches),
        workers=list(workers),
        slots=kw.pop("slots", SLOTS),
        max_retries=kw.pop("max_retries", 2),
        error_threshold=kw.pop("error_threshold", -1),
        **kw,
    )


def _ready(wid: str, slot: tuple[str, int], alive: bool = True) -> Worker:
    return Worker(wid, slot, WorkerState.READY, alive)


def test_leases_go_lowest_index_first_and_retries_last() -> None:
    pending = [
        MiniBatch(3, P, 2),
        MiniBatch(1, P, 2, attempts=1),
        MiniBatch(2, P, 2),
        MiniBatch(0, D, 2),
    ]
    assert choose_lease(pending).index == 2
    assert choose_lease([MiniBatch(0, D, 1)]) is None


def test_a_minibatch_gets_one_try_plus_max_retries() -> None:
    assert [after_failure(a, 2) for a in (1, 2, 3)] == [P, P, F]
    assert after_failure(1, 0) == F


def test_a_timed_out_run_kills_its_worker_and_is_retried() -> None:
    clock = FakeClock()
    mb = MiniBatch(0, L, 3, attempts=1, worker="w1", deadline=clock.now + 30)
    job = _job([mb], [_ready("w1", SLOTS[0]), _ready("w2", SLOTS[1])])
    assert plan(job, clock.now) == []
    actions = plan(job, clock.advance(31))
    assert actions[0] == StopWorker("w1", "mini-batch 0 timed out")
    assert actions[1] == Retry(0, "run() exceeded retry_settings.timeout")
    assert StartWorker(SLOTS[0]) in actions  # the killed worker's slot is refilled


def test_retries_exhausted_give_the_minibatch_up() -> None:
    clock = FakeClock()
    mb = MiniBatch(0, L, 3, attempts=3, worker="w1", deadline=clock.now - 1)
    actions = plan(_job([mb], [_ready("w1", SLOTS[0])]), clock.now)
    assert GiveUp(0, "run() exceeded retry_settings.timeout") in actions
    assert Finalize() in actions  # -1: failures are ignored, the job completes


def test_a_lost_worker_returns_its_lease_and_is_replaced() -> None:
    mb = MiniBatch(4, L, 2, attempts=1, worker="w1", deadline=2000.0)
    job = _job([mb, MiniBatch(5, P, 2)], [_ready("w1", SLOTS[0], alive=False)], slots=SLOTS[:1])
    actions = plan(job, 1000.0)
    assert actions == [
        MarkExited("w1"),
        Retry(4, "the worker process running it exited"),
        StartWorker(SLOTS[0]),
    ]


def test_error_threshold_counts_failed_items_over_the_job() -> None:
    minibatches = [MiniBatch(0, F, 3), MiniBatch(1, D, 3, items_failed=1), MiniBatch(2, P, 3)]
    assert failed_items(minibatches) == 4
    within = plan(_job(minibatches, [_ready("w1", SLOTS[0])], error_threshold=4), 0.0)
    assert not any(isinstance(a, Finish) for a in within)
    over = plan(_job(minibatches, [_ready("w1", SLOTS[0])], error_threshold=3), 0.0)
    assert over[0] == StopWorker("w1", "error threshold")
    assert isinstance(over[-1], Finish) and over[-1].status == "Failed"
    assert "4 failed items exceed error_threshold 3" in over[-1].message


def test_minus_one_ignores_every_failure() -> None:
    actions = plan(_job([MiniBatch(0, F, 5), MiniBatch(1, D, 5)], error_threshold=-1), 0.0)
    assert actions == [Finalize()]


def test_cancel_and_init_failure_end_the_job() -> None:
    workers = [_ready("w1", SLOTS[0]), Worker("w2", SLOTS[1], WorkerState.STARTING)]
    canceled = plan(_job([MiniBatch(0, P, 1)], workers, cancel_requested=True), 0.0)
    assert canceled == [
        StopWorker("w1", "job ended"),
        StopWorker("w2", "job ended"),
        Finish("Canceled", "The job was canceled."),
    ]
    failed = plan(_job([MiniBatch(0, P, 1)], workers, init_error="ValueError: bad model"), 0.0)
    assert failed[-1] == Finish("Failed", "ValueError: bad model")


def test_workers_start_only_for_pending_work() -> None:
    actions = plan(_job([MiniBatch(0, P, 1)]), 0.0)
    assert actions == [StartWorker(SLOTS[0])]  # one mini-batch: one worker is enough
    assert plan(_job([MiniBatch(0, P, 1), MiniBatch(1, P, 1), MiniBatch(2, P, 1)]), 0.0) == [
        StartWorker(SLOTS[0]),
        StartWorker(SLOTS[1]),
    ]


def test_a_slot_that_keeps_crashing_is_given_up() -> None:
    starts = {slot: MAX_REPLACEMENTS_PER_SLOT + 1 for slot in SLOTS}
    actions = plan(_job([MiniBatch(0, P, 1)]), 0.0, starts)
    assert isinstance(actions[-1], Finish) and "kept exiting" in actions[-1].message


def test_nodes_scale_from_zero_and_back_after_the_idle_time() -> None:
    assert allocate([], max_instances=4, wanted=2).create == 2
    busy = [Node("a", "job-1", None), Node("b", None, 10.0)]
    decision = allocate(busy, max_instances=2, wanted=2)
    assert decision.reuse == ["b"] and decision.create == 0
    assert allocate([Node("a", "j", None)], max_instances=1, wanted=1).create == 0
    clock = FakeClock(100.0)
    idle = [Node("a", None, 100.0), Node("b", None, 50.0), Node("c", "j", None)]
    assert release(idle, min_instances=0, idle_time=120, now=clock.now) == []
    assert release(idle, min_instances=0, idle_time=120, now=clock.advance(100)) == ["b"]
    assert release(idle, min_instances=0, idle_time=120, now=clock.advance(20)) == ["b", "a"]
    assert release(idle, min_instances=2, idle_time=120, now=clock.now) == ["b"]


def test_run_results_become_rows() -> None:
    assert rows_of(["a,1", "b,2"]) == (["a,1", "b,2"], 2)
    assert rows_of([{"k": 1}, 3]) == (["{'k': 1}", "3"], 2)
    assert rows_of(None) == ([], 0)

    class Frame:  # the two DataFrame methods the worker uses, without pandas
        columns = ["file", "score"]

        def __len__(self) -> int:
            return 2

        def to_csv(self, header: bool, index: bool, lineterminator: str) -> str:
            assert header is False and index is False
            return "a.png,0.5\nb.png,0.25\n"

    assert rows_of(Frame()) == (["a.png,0.5", "b.png,0.25"], 2)
