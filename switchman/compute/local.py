"""The local compute backend: one OS process per instance, each in its own process group.

Instances are started detached (their own session) so that they outlive a control-plane crash and
are adopted by the next control plane; the ``Handle`` (pid + creation time) finds them again.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections import deque
from pathlib import Path

import psutil

from switchman.compute.backend import (
    CONTAINER_LOGS,
    WORKER_LOGS,
    ComputeBackend,
    Handle,
    LaunchSpec,
    Liveness,
    Observation,
    WorkerSpec,
)


class LocalBackend(ComputeBackend):
    name = "local"

    def __init__(self) -> None:
        # Children started by this process, so their exit codes can be reaped.
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, spec: LaunchSpec) -> Handle:
        folder = Path(spec.instance_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "instance.json").write_text(json.dumps(spec.to_json(), indent=2))
        log = open(folder / CONTAINER_LOGS["storage-initializer"], "ab")  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "switchman.compute.launcher", str(folder / "instance.json")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=folder,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            log.close()
        self._children[proc.pid] = proc
        try:
            started = psutil.Process(proc.pid).create_time()
        except psutil.Error:
            started = 0.0
        return Handle(pid=proc.pid, started=started)

    def start_worker(self, spec: WorkerSpec) -> Handle:
        """A batch worker: a detached process group; it prepares the deployment's interpreter
        itself (``switchman.environments.prepare``, as the instance launcher does) and re-execs
        into it, so this call never waits for an environment build."""
        folder = Path(spec.worker_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "worker.json").write_text(json.dumps(spec.to_json(), indent=2))
        out = open(folder / WORKER_LOGS["stdout"], "ab")  # noqa: SIM115
        err = open(folder / WORKER_LOGS["stderr"], "ab")  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "switchman.batch.worker", str(folder / "worker.json")],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=folder,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            out.close()
            err.close()
        return self._track(proc)

    def _track(self, proc: subprocess.Popen[bytes]) -> Handle:
        self._children[proc.pid] = proc
        try:
            started = psutil.Process(proc.pid).create_time()
        except psutil.Error:
            started = 0.0
        return Handle(pid=proc.pid, started=started)

    def observe(self, handle: Handle) -> Observation:
        child = self._children.get(handle.pid)
        if child is not None:
            code = child.poll()
            if code is None:
                return Observation(Liveness.RUNNING)
            del self._children[handle.pid]
            return Observation(Liveness.EXITED, code if code >= 0 else 128 - code)
        # An adopted instance (started by an earlier control plane): no exit code to reap.
        return Observation(Liveness.RUNNING if _alive(handle) else Liveness.EXITED)

    def terminate(self, handle: Handle) -> None:
        if _alive(handle):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(handle.pid, signal.SIGTERM)

    def kill(self, handle: Handle) -> None:
        if _alive(handle):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(handle.pid, signal.SIGKILL)

    def memory_mib(self, handle: Handle) -> float | None:
        if not _alive(handle):
            return None
        try:
            root = psutil.Process(handle.pid)
            total = root.memory_info().rss
            for child in root.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
        except psutil.Error:
            return None
        return total / (1024 * 1024)

    def read_log(self, instance_dir: str, container: str, lines: int) -> str:
        name = CONTAINER_LOGS.get(container) or WORKER_LOGS[container]
        path = Path(instance_dir) / name
        try:
            with open(path, errors="replace") as handle:
                return "".join(deque(handle, maxlen=max(lines, 0)))
        except FileNotFoundError:
            return ""


def _alive(handle: Handle) -> bool:
    try:
        proc = psutil.Process(handle.pid)
        if handle.started and abs(proc.create_time() - handle.started) > 1.0:
            return False  # the pid now belongs to another process
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
