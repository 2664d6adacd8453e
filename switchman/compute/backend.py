"""The compute-backend seam: the only way the control plane starts, watches and stops instances.

`local` runs one OS process per instance; a Ray backend places the same launch on a Ray cluster.
Every method returns at once (the reconciler polls; it never blocks on an instance).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# The two "containers" of an instance and their log files inside the instance folder.
CONTAINER_LOGS = {
    "inference-server": "inference-server.log",
    "storage-initializer": "storage-initializer.log",
}
# The logs of a batch worker inside its worker folder (read_log's ``container`` for workers).
WORKER_LOGS = {
    "stdout": "stdout.txt",
    "stderr": "stderr.txt",
}


@dataclass(frozen=True)
class LaunchSpec:
    """Everything one instance needs; serialised as ``instance.json`` for the launcher."""

    instance_id: str
    home: str
    endpoint: str
    deployment: str
    instance_dir: str
    host: str
    port: int
    model: dict[str, Any] | None
    code: dict[str, Any] | None
    environment: dict[str, Any] | None
    environment_variables: dict[str, str]
    worker_count: int
    memory_limit_mib: int | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class WorkerSpec:
    """One batch worker process (issue 10): serialised as ``worker.json`` in its worker folder.

    ``config`` is what ``switchman.batch.worker`` reads (control-plane URL, per-job token, model,
    code, environment, settings); it must be JSON-able, since a remote backend ships it to a node.
    """

    worker_id: str
    home: str
    job: str
    node: str
    worker_dir: str
    config: dict[str, Any]
    cpus: float = 1.0
    memory_mib: int | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Handle:
    """What the store keeps to find an instance again, also after a control-plane restart."""

    pid: int
    started: float  # process creation time: guards against pid reuse


class Liveness(StrEnum):
    RUNNING = "running"
    EXITED = "exited"


@dataclass(frozen=True)
class Observation:
    liveness: Liveness
    exit_code: int | None = None


class ComputeBackend(abc.ABC):
    name: str

    @abc.abstractmethod
    def start(self, spec: LaunchSpec) -> Handle:
        """Launch an instance; return at once."""

    @abc.abstractmethod
    def start_worker(self, spec: WorkerSpec) -> Handle:
        """Launch a batch worker (``python -m switchman.batch.worker worker.json``); return at once.

        observe / terminate / kill / memory_mib work on the returned handle as for instances;
        ``read_log(spec.worker_dir, "stdout" | "stderr", lines)`` reads its output.
        """

    @abc.abstractmethod
    def observe(self, handle: Handle) -> Observation:
        """Is the instance's process still there, and with which exit code did it end."""

    @abc.abstractmethod
    def terminate(self, handle: Handle) -> None:
        """Ask the instance to stop gracefully (drain, then exit)."""

    @abc.abstractmethod
    def kill(self, handle: Handle) -> None:
        """Stop the instance now (after the graceful deadline)."""

    @abc.abstractmethod
    def memory_mib(self, handle: Handle) -> float | None:
        """Resident memory of the instance (its whole process tree), or None when unknown."""

    @abc.abstractmethod
    def read_log(self, instance_dir: str, container: str, lines: int) -> str:
        """The last ``lines`` of an instance's container log (inference-server or storage-initializer),
        or of a batch worker's ``stdout`` / ``stderr`` (``instance_dir`` is then the worker folder)."""
