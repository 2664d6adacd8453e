"""The worker side of the control plane: lease a mini-batch, record its result (issue 10).

Workers call these through ``/batch-worker/...`` with their job's token. A result is written to
disk (``outputs.write_result``) *before* its mini-batch is marked done in the store, and only the
current lease holder's report counts, so a mini-batch is in the output exactly once.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from switchman.batch import outputs
from switchman.batch.policy import MiniBatchState, WorkerState, after_failure, choose_lease
from switchman.batch.scheduler import token_digest
from switchman.batch.store import TERMINAL, BatchStore, JobRecord
from switchman.errors import NotFoundError, UnauthorizedError
from switchman.home import Home

LEASE_STATES = ("Starting", "Running", "Provisioning")
WAIT_S = 0.1


class LeaseDesk:
    def __init__(
        self, home: Home, store: BatchStore, clock: Callable[[], float] = time.time
    ) -> None:
        self.home = home
        self.store = store
        self.clock = clock
        self._specs: dict[str, dict[str, Any]] = {}  # a job's spec never changes once created

    def job(self, name: str) -> JobRecord | None:
        spec = self._specs.get(name)
        if spec is None:
            found = self.store.find_job(name)
            if found is None:
                return None
            if len(self._specs) > 256:
                self._specs.clear()
            self._specs[name] = found.spec
            return found
        return self.store.job_state(name, spec)

    def authorize(self, job_name: str, authorization: str | None) -> JobRecord:
        job = self.job(job_name)
        scheme, _, token = (authorization or "").partition(" ")
        if (
            job is None
            or scheme.lower() != "bearer"
            or not hmac.compare_digest(token_digest(token.strip()), job.token_sha256)
        ):
            raise UnauthorizedError("This route needs the job's worker token.")
        return job

    def ready(self, job: JobRecord, worker: str) -> dict[str, Any]:
        self.store.set_worker_state(worker, WorkerState.READY)
        return {"ok": True}

    def init_failed(self, job: JobRecord, worker: str, body: dict[str, Any]) -> dict[str, Any]:
        """init() (or the environment build) failed: the job fails with the script's own error."""
        message = str(body.get("message") or "init() failed")
        code = str(body.get("code") or "UserScriptInitFailed")
        record = self.store.find_worker(worker)
        where = f"{record.node}/process{record.slot}" if record else worker
        outputs.append_log(
            self.home, job.name, f"user/error/{where}.txt", str(body.get("traceback") or message)
        )
        if job.status not in TERMINAL and not job.error:
            self.store.set_job_status(
                job.name,
                job.status,
                error={"code": code, "message": f"init() of the scoring script failed: {message}"},
            )
        self.store.set_worker_state(worker, WorkerState.EXITED, message)
        return {"stop": True}

    def lease(self, job: JobRecord, worker: str) -> dict[str, Any]:
        if job.status not in LEASE_STATES or job.cancel_requested or job.error:
            return {"stop": True}
        record = self.store.find_worker(worker)
        if record is None or record.job != job.name or record.state == WorkerState.EXITED:
            return {"stop": True}
        timeout = float(job.spec["settings"]["timeout"])
        taken = self.store.take(job.name, worker, self.clock() + timeout, choose_lease)
        if taken is None:
            return {"wait": WAIT_S} if self.store.open_work(job.name) else {"stop": True}
        index, attempt, files = taken
        if job.status != "Running":
            self.store.set_job_status(job.name, "Running")
        return {
            "minibatch": {"index": index, "attempt": attempt, "files": files},
            "timeout": timeout,
        }

    def result(self, job: JobRecord, index: int, body: dict[str, Any]) -> dict[str, Any]:
        """Record a try and answer with the worker's next lease (one round trip per mini-batch)."""
        worker = str(body.get("worker_id") or "")
        attempt = int(body.get("attempt") or 0)
        took_ms = (float(body.get("ended", 0.0)) - float(body.get("started", 0.0))) * 1000
        if body.get("ok"):
            rows = "".join(str(r) + "\n" for r in body.get("rows") or [])
            append = job.spec["settings"]["output_action"] == "append_row"
            self.store.complete(
                job.name,
                index,
                worker=worker,
                attempt=attempt,
                state=MiniBatchState.DONE,
                items_ok=int(body.get("items") or 0),
                error=None,
                rows=rows if append else None,
                took_ms=took_ms,
            )
        else:
            state = after_failure(attempt, int(job.spec["settings"]["max_retries"]))
            error = str(body.get("error") or "run() failed")
            settled, _ = self.store.complete(
                job.name,
                index,
                worker=worker,
                attempt=attempt,
                state=state,
                items_ok=0,
                error=error,
                rows=None,
                took_ms=took_ms,
            )
            if settled:
                record = self.store.find_worker(worker)
                where = f"{record.node}/process{record.slot}" if record else worker
                retry = "" if state == MiniBatchState.FAILED else " (will retry)"
                outputs.append_log(
                    self.home,
                    job.name,
                    "user/error.txt",
                    f"{outputs.stamp()} mini-batch {index} attempt {attempt} failed{retry}: {error}",
                )
                outputs.append_log(
                    self.home,
                    job.name,
                    f"user/error/{where}.txt",
                    str(body.get("traceback") or error),
                )
        fresh = self.job(job.name)
        return self.lease(fresh, worker) if fresh is not None else {"stop": True}

    def input_file(self, job: JobRecord, index: int, position: int) -> Path:
        files = self.store.files(job.name, index)
        if not 0 <= position < len(files):
            raise NotFoundError(f"Mini-batch {index} of job {job.name!r} has no file {position}.")
        return Path(files[position]["path"])
