"""The local compute backend: one OS process per instance, each in its own process group.

Instances are started detached (their own session) so that they outlive a control-plane crash and
are adopted by the next control plane; the ``Handle`` (pid + creation time) finds them again. Every
start is also recorded in a registry folder (``$SWITCHMAN_HOME/compute/local``) *before* ``start``
returns, so ``sweep`` (``switchman down``) stops every process this backend started, also ones the
store never heard of (an instance started by a reconciler pass racing the shutdown).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import psutil

from switchman.compute.backend import (
    ADDRESS_FILE,
    CONTAINER_LOGS,
    LAUNCH_FILE,
    STATUS_FILE,
    WORKER_LOGS,
    ComputeBackend,
    Handle,
    LaunchSpec,
    Liveness,
    LogChunk,
    Observation,
    Usage,
    WorkerSpec,
)
from switchman.home import Home

SWEEP_GRACE_S = 5.0


class LocalBackend(ComputeBackend):
    name = "local"

    def __init__(self, home: Home | None = None) -> None:
        self.home = home or Home.from_env()
        self.registry = self.home.root / "compute" / "local"
        # Children started by this process, so their exit codes can be reaped.
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._procs: dict[str, psutil.Process] = {}  # for cpu_percent between calls
        self._addresses: dict[str, str] = {}

    # -- starting --------------------------------------------------------------------------------

    def instance_dir(self, spec: LaunchSpec) -> Path:
        return self.home.instances_dir / spec.endpoint / spec.instance_id

    def start(self, spec: LaunchSpec) -> Handle:
        folder = self.instance_dir(spec)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in (ADDRESS_FILE, STATUS_FILE, LAUNCH_FILE):
            with contextlib.suppress(FileNotFoundError):
                (folder / stale).unlink()
        (folder / "instance.json").write_text(
            json.dumps({**spec.to_json(), "bind_host": "127.0.0.1"}, indent=2)
        )
        args = [sys.executable, "-m", "switchman.compute.launcher", str(folder / "instance.json")]
        # connection secrets travel in the launcher's environment only (never instance.json)
        env = {**os.environ, **spec.secret_environment} if spec.secret_environment else None
        return self.spawn(args, folder, folder / CONTAINER_LOGS["storage-initializer"], env=env)

    def start_worker(self, spec: WorkerSpec) -> Handle:
        """A batch worker: a detached process group; it prepares the deployment's interpreter
        itself (``switchman.environments.prepare``, as the instance launcher does) and re-execs
        into it, so this call never waits for an environment build."""
        folder = Path(spec.worker_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "worker.json").write_text(json.dumps(spec.to_json(), indent=2))
        args = [sys.executable, "-m", "switchman.batch.worker", str(folder / "worker.json")]
        return self.spawn(
            args, folder, folder / WORKER_LOGS["stdout"], folder / WORKER_LOGS["stderr"]
        )

    def spawn(
        self,
        args: list[str],
        folder: Path,
        log_path: Path,
        err_path: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Handle:
        """Start one detached process (its own session) and record it; used for every kind of
        process this backend runs, so ``sweep`` finds them all."""
        folder.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab")  # noqa: SIM115
        err = open(err_path, "ab") if err_path is not None else None  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=err if err is not None else subprocess.STDOUT,
                cwd=folder,
                start_new_session=True,
                close_fds=True,
                env=env,
            )
        finally:
            log.close()
            if err is not None:
                err.close()
        self._children[proc.pid] = proc
        try:
            started = psutil.Process(proc.pid).create_time()
        except psutil.Error:
            started = 0.0
        handle = Handle(
            self.name,
            f"{proc.pid}:{started:.3f}",
            {"pid": proc.pid, "started": started, "dir": str(folder)},
        )
        self.registry.mkdir(parents=True, exist_ok=True)
        (self.registry / f"{proc.pid}-{int(started * 1000)}.json").write_text(handle.to_json())
        return handle

    # -- watching --------------------------------------------------------------------------------

    def observe(self, handle: Handle) -> Observation:
        pid = handle.pid
        folder = _folder(handle)
        code: int | None = None
        child = self._children.get(pid) if pid is not None else None
        if child is not None:
            polled = child.poll()
            if polled is None:
                liveness = Liveness.RUNNING
            else:
                del self._children[child.pid]
                liveness, code = Liveness.EXITED, polled if polled >= 0 else 128 - polled
        else:
            # An adopted instance (started by an earlier control plane): no exit code to reap.
            liveness = Liveness.RUNNING if _alive(handle) else Liveness.EXITED
        address = self._addresses.get(handle.key)
        if address is None and folder is not None:
            address = _read_json(folder / ADDRESS_FILE).get("address")
            if address:
                self._addresses[handle.key] = str(address)
        failure = None
        if liveness == Liveness.EXITED and folder is not None:
            failure = _read_json(folder / STATUS_FILE) or None
        return Observation(
            liveness,
            code,
            address=str(address) if address else None,
            failure=failure,
            runtime_started=_mtime(folder / LAUNCH_FILE) if folder is not None else None,
            node="localhost",
        )

    def usage(self, handle: Handle) -> Usage | None:
        if not _alive(handle) or handle.pid is None:
            self._procs.pop(handle.key, None)
            return None
        try:
            root = self._procs.get(handle.key) or psutil.Process(handle.pid)
            first = handle.key not in self._procs
            self._procs[handle.key] = root
            total = root.memory_info().rss
            cpu = root.cpu_percent(None)
            for child in root.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
        except psutil.Error:
            return None
        return Usage(cpu_percent=None if first else cpu, memory_mib=total / (1024 * 1024))

    def read_log(self, handle: Handle, container: str, lines: int) -> str:
        folder = _folder(handle)
        if folder is None:
            return ""
        try:
            with open(folder / _log_name(container), errors="replace") as log:
                return "".join(deque(log, maxlen=max(lines, 0)))
        except FileNotFoundError:
            return ""

    def log_chunk(
        self, handle: Handle, container: str, offset: int | None, limit: int
    ) -> LogChunk | None:
        folder = _folder(handle)
        if folder is None:
            return None
        return read_chunk(folder / _log_name(container), offset, limit)

    # -- stopping --------------------------------------------------------------------------------

    def terminate(self, handle: Handle) -> None:
        self._signal(handle, signal.SIGTERM)

    def kill(self, handle: Handle) -> None:
        self._signal(handle, signal.SIGKILL)

    def _signal(self, handle: Handle, sig: signal.Signals) -> None:
        if handle.pid is not None and _alive(handle):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(handle.pid, sig)

    def discard(self, handle: Handle) -> None:
        folder = _folder(handle)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        self._forget(handle)

    def _forget(self, handle: Handle) -> None:
        self._addresses.pop(handle.key, None)
        self._procs.pop(handle.key, None)
        started = float(handle.data.get("started") or 0.0)
        with contextlib.suppress(FileNotFoundError):
            (self.registry / f"{handle.pid}-{int(started * 1000)}.json").unlink()

    def sweep(self) -> int:
        handles = self.recorded()
        running = [h for h in handles if _alive(h)]
        for handle in running:
            self.terminate(handle)
        deadline = time.monotonic() + SWEEP_GRACE_S
        pending = list(running)
        while pending and time.monotonic() < deadline:
            time.sleep(0.05)
            for handle in pending:
                child = self._children.get(handle.pid or -1)
                if child is not None:
                    child.poll()  # reap, so a zombie does not count as running
            pending = [h for h in pending if _alive(h)]
        for handle in pending:
            self.kill(handle)
        for handle in handles:
            self._forget(handle)
        return len(running)

    def recorded(self) -> list[Handle]:
        """Every process this backend started for this home and has not discarded."""
        handles = []
        for path in sorted(self.registry.glob("*.json")) if self.registry.is_dir() else []:
            with contextlib.suppress(OSError, ValueError, KeyError):
                handles.append(Handle.from_json(path.read_text()))
        return handles


def read_chunk(path: Path, offset: int | None, limit: int) -> LogChunk | None:
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if offset is None or offset >= size:
        return LogChunk(b"", size)
    with open(path, "rb") as log:
        log.seek(offset)
        return LogChunk(log.read(min(size - offset, limit)), size)


def _log_name(container: str) -> str:
    return CONTAINER_LOGS.get(container) or WORKER_LOGS[container]


def _folder(handle: Handle) -> Path | None:
    folder = handle.data.get("dir")
    return Path(folder) if folder else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _alive(handle: Handle) -> bool:
    if handle.pid is None:
        return False
    try:
        proc = psutil.Process(handle.pid)
        started = float(handle.data.get("started") or 0.0)
        if started and abs(proc.create_time() - started) > 1.0:
            return False  # the pid now belongs to another process
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
