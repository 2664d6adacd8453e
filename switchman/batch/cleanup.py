"""`switchman down` without a control plane: the compute backend's sweep stops the workers; this
marks their jobs Paused (leases given back uncounted), so `switchman up` resumes them."""

from __future__ import annotations

from switchman.batch.policy import LIVE_WORKERS, WorkerState
from switchman.batch.store import BatchStore
from switchman.home import Home


def pause_orphan_jobs(home: Home) -> int:
    store = BatchStore(home.db_path)
    try:
        paused = 0
        for worker in store.workers():
            if worker.state in LIVE_WORKERS:
                store.set_worker_state(worker.id, WorkerState.EXITED, "platform going down")
        for job in store.active_jobs():
            if job.status not in ("Paused", "Finalizing"):
                store.release_leases(job.name)
                store.release_job_nodes(job.name)
                store.set_job_status(job.name, "Paused")
                paused += 1
        return paused
    finally:
        store.close()
