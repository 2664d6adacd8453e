"""The batch-worker entry of the compute seam: start_worker → observe / read_log / terminate / kill."""

from __future__ import annotations

from pathlib import Path

from switchman.compute.backend import Liveness, WorkerSpec
from switchman.compute.local import LocalBackend
from switchman.home import Home
from tests.support.proc import free_port, wait_for


def _spec(tmp_path: Path, worker_id: str) -> WorkerSpec:
    # Nothing listens on the control-plane port: the worker prepares, then keeps retrying.
    return WorkerSpec(
        worker_id=worker_id,
        home=str(tmp_path / "home"),
        job="job-1",
        node="node-0",
        worker_dir=str(tmp_path / "workers" / worker_id),
        config={
            "api_url": f"http://127.0.0.1:{free_port()}",
            "token": "t",
            "model": None,
            "code": None,
            "scorer": "json",
            "environment": None,
            "environment_variables": {},
        },
    )


def test_start_worker_observe_terminate_and_kill(tmp_path: Path) -> None:
    backend = LocalBackend(Home(tmp_path / "home"))
    gentle = backend.start_worker(_spec(tmp_path, "w-1"))
    rough = backend.start_worker(_spec(tmp_path, "w-2"))
    try:
        assert backend.observe(gentle).liveness == Liveness.RUNNING
        assert (tmp_path / "workers" / "w-1" / "worker.json").is_file()
        wait_for(
            lambda: "w-1 of job job-1 on node-0" in backend.read_log(gentle, "stderr", 50),
            what="the worker's own log line",
        )
        assert backend.read_log(gentle, "stdout", 50) == ""
        backend.terminate(gentle)
        wait_for(lambda: backend.observe(gentle).liveness == Liveness.EXITED, what="SIGTERM")
        assert backend.observe(rough).liveness == Liveness.RUNNING
        backend.kill(rough)
        wait_for(lambda: backend.observe(rough).liveness == Liveness.EXITED, what="SIGKILL")
    finally:
        backend.kill(gentle)
        backend.kill(rough)
