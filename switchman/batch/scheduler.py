"""The batch scheduler: applies :func:`switchman.batch.policy.plan` to every running job.

It runs in the control plane beside the reconciler, every ``interval`` seconds, and never dies (a
failing pass is logged, the next one runs). Each pass, per job: take nodes from the job's compute
cluster (scale from 0), start the workers the plan asks for through the compute backend, kill
timed-out or orphaned ones, retry or give up mini-batches, and finalize (merge the output) when
nothing is left. Idle nodes are released after the cluster's idle time.

Everything it decides from is in the store (job rows, mini-batch rows, worker rows with the backend's
creation time), so a restarted control plane adopts running workers and carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from switchman.batch import outputs
from switchman.batch.policy import (
    LIVE_WORKERS,
    Finalize,
    Finish,
    GiveUp,
    JobState,
    MarkExited,
    MiniBatchState,
    Retry,
    StartWorker,
    StopWorker,
    WorkerState,
    allocate,
    plan,
    release,
)
from switchman.batch.store import TERMINAL, BatchStore, JobRecord, WorkerRecord, as_policy_worker
from switchman.compute.backend import ComputeBackend, Handle, Liveness, WorkerSpec
from switchman.home import Home

logger = logging.getLogger(__name__)

RUNNING_STATES = ("Provisioning", "Starting", "Running")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class BatchScheduler:
    """Drives batch jobs. ``step()`` is a plain method tests (and ``run``) call."""

    def __init__(
        self,
        home: Home,
        store: BatchStore,
        backend: ComputeBackend,
        api_url: Callable[[], str],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.home = home
        self.store = store
        self.backend = backend
        self.api_url = api_url
        self.clock = clock
        self.paused = False
        # One pass at a time: the API's cancel runs a job's pass at once, beside the loop's.
        self._lock = threading.RLock()
        # Worker tokens live only in memory and in worker.json; a restart re-reads them there.
        self._tokens: dict[str, str] = {}

    async def run(self, interval: float = 0.1) -> None:
        self.resume_paused()
        while True:
            try:
                if not self.paused:
                    await asyncio.to_thread(self.step)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("batch scheduler pass failed")
            await asyncio.sleep(interval)

    # -- the pass --------------------------------------------------------------------------------

    def step(self) -> None:
        with self._lock:
            for job in self.store.active_jobs():
                try:
                    self._job(job)
                except Exception:
                    logger.exception("batch job %s: pass failed", job.name)
            self._scale_down()

    def step_job(self, name: str) -> None:
        """One pass for one job now (cancel stops the workers at once, not on the next tick)."""
        with self._lock:
            job = self.store.find_job(name)
            if job is not None and job.status not in TERMINAL:
                self._job(job)

    def _job(self, job: JobRecord) -> None:
        if job.status == "Paused":
            return
        if job.status == "Finalizing":
            self._finalize(job)
            return
        if job.status in ("Queued", "NotStarted") and not job.cancel_requested:
            if not self._provision(job):
                return
            job = self.store.get_job(job.name)
        settings = job.spec["settings"]
        slots = [
            (node, p)
            for node in sorted(self._job_nodes(job))
            for p in range(int(settings["max_concurrency_per_instance"]))
        ]
        records = self.store.workers(job.name)
        live = [w for w in records if w.state in LIVE_WORKERS]
        alive = {w.id: self._alive(w) for w in live}
        init_error = None
        if job.error and job.error.get("code") in ("UserScriptInitFailed", "ImageBuildFailure"):
            init_error = str(job.error.get("message"))
        state = JobState(
            minibatches=self.store.minibatches(job.name),
            workers=[as_policy_worker(w, alive.get(w.id, False)) for w in live],
            slots=slots,
            max_retries=int(settings["max_retries"]),
            error_threshold=int(settings["error_threshold"]),
            cancel_requested=job.cancel_requested,
            init_error=init_error,
        )
        starts: dict[tuple[str, int], int] = {}
        for w in records:
            starts[(w.node, w.slot)] = starts.get((w.node, w.slot), 0) + 1
        by_id = {w.id: w for w in records}
        for action in plan(state, self.clock(), starts):
            if isinstance(action, StartWorker):
                self._start_worker(job, action.slot)
            elif isinstance(action, StopWorker):
                self._stop_worker(by_id[action.worker], action.reason)
            elif isinstance(action, MarkExited):
                self.store.set_worker_state(action.worker, WorkerState.EXITED, "process exited")
                self._driver(job.name, f"worker {action.worker} exited")
            elif isinstance(action, Retry | GiveUp):
                final = (
                    MiniBatchState.PENDING if isinstance(action, Retry) else MiniBatchState.FAILED
                )
                if self.store.settle(
                    job.name,
                    action.index,
                    worker=None,
                    attempt=None,
                    state=final,
                    error=action.reason,
                ):
                    self._driver(job.name, f"mini-batch {action.index}: {action.reason}; {final}")
                    outputs.append_log(
                        self.home,
                        job.name,
                        "user/error.txt",
                        f"{outputs.stamp()} mini-batch {action.index}: {action.reason}",
                    )
            elif isinstance(action, Finalize):
                self.store.set_job_status(job.name, "Finalizing")
                self._finalize(self.store.get_job(job.name))
            elif isinstance(action, Finish):
                self._end(job, action.status, action.message)

    # -- nodes -----------------------------------------------------------------------------------

    def _job_nodes(self, job: JobRecord) -> list[str]:
        return [n.name for n in self.store.nodes(job.spec["compute"]) if n.job == job.name]

    def _provision(self, job: JobRecord) -> bool:
        compute = self.store.find_compute(job.spec["compute"])
        if compute is None:
            self._end(job, "Failed", f"The compute {job.spec['compute']!r} no longer exists.")
            return False
        spec = compute["spec"]
        wanted = min(int(job.spec["settings"]["instance_count"]), int(spec["max_instances"]))
        nodes = self.store.nodes(compute["name"])
        decision = allocate(nodes, int(spec["max_instances"]), wanted)
        if not decision.reuse and not decision.create:
            return False  # every node is busy with other jobs: wait in Queued
        if decision.create:
            self.store.set_job_status(job.name, "Provisioning")
            names = [f"{compute['name']}-{uuid.uuid4().hex[:6]}" for _ in range(decision.create)]
            self.store.add_nodes(compute["name"], names, job.name)
            self._driver(job.name, f"provisioned nodes {', '.join(names)}")
        self.store.assign_nodes(compute["name"], decision.reuse, job.name)
        self.store.set_job_status(job.name, "Starting")
        return True

    def _scale_down(self) -> None:
        now = self.clock()
        for compute in self.store.list_computes():
            spec = compute["spec"]
            nodes = self.store.nodes(compute["name"])
            gone = release(
                nodes, int(spec["min_instances"]), float(spec["idle_time_before_scale_down"]), now
            )
            if gone:
                self.store.remove_nodes(compute["name"], gone)
            missing = int(spec["min_instances"]) - (len(nodes) - len(gone))
            if missing > 0:
                names = [f"{compute['name']}-{uuid.uuid4().hex[:6]}" for _ in range(missing)]
                self.store.add_nodes(compute["name"], names, None)

    # -- workers ---------------------------------------------------------------------------------

    def _alive(self, worker: WorkerRecord) -> bool:
        if not worker.handle:
            return False
        observed = self.backend.observe(Handle.from_json(worker.handle))
        return observed.liveness == Liveness.RUNNING

    def job_token(self, job: JobRecord) -> str:
        """The per-job secret workers authenticate with (kept in memory and in the job folder)."""
        token = self._tokens.get(job.name)
        if token is None:
            path = outputs.job_dir(self.home, job.name) / "worker-token"
            token = path.read_text().strip()
            self._tokens[job.name] = token
        return token

    def _start_worker(self, job: JobRecord, slot: tuple[str, int]) -> None:
        node, index = slot
        worker_id = f"w{uuid.uuid4().hex[:10]}"
        folder = outputs.job_dir(self.home, job.name) / "workers" / worker_id
        resolved = job.spec["resolved"]
        settings = job.spec["settings"]
        config: dict[str, Any] = {
            "api_url": self.api_url(),
            "ca_file": (self.home.read_server() or {}).get("ca_file"),
            "token": self.job_token(job),
            "process_index": index,
            "model": resolved.get("model"),
            "code": resolved.get("code"),
            "scorer": resolved.get("scorer"),
            "environment": resolved.get("environment"),
            "environment_variables": {
                **resolved.get("environment_variables", {}),
                **settings.get("environment_variables", {}),
            },
            "logging_level": settings["logging_level"],
            "output_dir": job.spec["outputs"]["score"]["resolved"],
        }
        spec = WorkerSpec(
            worker_id=worker_id,
            home=str(self.home.root),
            job=job.name,
            node=node,
            worker_dir=str(folder),
            config=config,
            cpus=1.0,
            memory_mib=None,
        )
        record = WorkerRecord(
            worker_id,
            job.name,
            node,
            index,
            WorkerState.STARTING,
            None,
            str(folder),
            self.clock(),
            None,
            None,
        )
        self.store.add_worker(record)  # before the process exists: a crash here leaves no orphan
        handle = self.backend.start_worker(spec)
        self.store.add_worker(replace(record, handle=handle.to_json()))
        self._driver(
            job.name, f"started worker {worker_id} (pid {handle.pid}) on {node} process{index}"
        )

    def _stop_worker(self, worker: WorkerRecord, reason: str) -> None:
        if worker.handle:
            self.backend.kill(Handle.from_json(worker.handle))
        self.store.set_worker_state(worker.id, WorkerState.EXITED, reason)
        self._driver(worker.job, f"stopped worker {worker.id}: {reason}")

    def _stop_workers(self, job: str, reason: str) -> None:
        for worker in self.store.workers(job):
            if worker.state in LIVE_WORKERS:
                self._stop_worker(worker, reason)

    # -- ending ----------------------------------------------------------------------------------

    def _finalize(self, job: JobRecord) -> None:
        counts = self.store.counts(job.name)
        settings = job.spec["settings"]
        if counts["items_succeeded"] == 0:
            self._end(
                job,
                "Failed",
                "No succeeded mini batch item returned from run(). See logs/user/error.txt "
                "(`switchman job download --all`).",
            )
            return
        if settings["output_action"] == "append_row":
            done = [
                (m.index, m.attempts)
                for m in self.store.minibatches(job.name)
                if m.state == MiniBatchState.DONE
            ]
            target = Path(job.spec["outputs"]["score"]["resolved"]) / settings["output_file_name"]
            rows = outputs.merge(self.store.results(job.name), target)
            self._driver(
                job.name, f"merged {rows} rows from {len(done)} mini-batches into {target}"
            )
        self._end(job, "Completed", None)

    def _end(self, job: JobRecord, status: str, message: str | None) -> None:
        self._stop_workers(job.name, f"job {status.lower()}")
        error = (
            {"code": "UserError" if status == "Failed" else status, "message": message}
            if message and status == "Failed"
            else None
        )
        if job.error and status == "Failed":
            error = job.error
        self.store.set_job_status(job.name, status, error=error, ended=True)
        self.store.release_job_nodes(job.name)
        if message and status == "Failed":
            outputs.append_log(
                self.home, job.name, "user/error.txt", f"{outputs.stamp()} {message}"
            )
        self._driver(job.name, f"job {status}" + (f": {message}" if message else ""))

    # -- pause and resume (switchman down / up) --------------------------------------------------

    def pause_all(self) -> int:
        """Stop every worker; running jobs become Paused with their leases given back uncounted."""
        with self._lock:
            self.paused = True
            return self._pause()

    def _pause(self) -> int:
        count = 0
        for job in self.store.active_jobs():
            if job.cancel_requested:
                self._end(job, "Canceled", None)
            elif job.status in ("Queued", *RUNNING_STATES):
                self._stop_workers(job.name, "platform going down")
                self.store.release_leases(job.name)
                self.store.release_job_nodes(job.name)
                self.store.set_job_status(job.name, "Paused")
                self._driver(job.name, "paused (switchman down)")
                count += 1
        return count

    def resume_paused(self) -> None:
        for job in self.store.active_jobs():
            if job.status == "Paused":
                self.store.set_job_status(job.name, "Queued")
                self._driver(job.name, "resumed (switchman up)")

    def _driver(self, job: str, message: str) -> None:
        with contextlib.suppress(OSError):
            path = outputs.job_dir(self.home, job) / "driver.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a") as handle:
                handle.write(f"{outputs.stamp()} {message}\n")
