"""The compute-backend seam: the only way the control plane starts, watches and stops instances.

Both backends are equal citizens behind it. `local` runs one OS process per instance; `ray` runs the
same launcher under a detached Ray actor on some node of a cluster. Nothing outside
``switchman/compute/`` may assume a local process or a shared disk: the store keeps the opaque
:class:`Handle` a backend returns, the backend reports where the instance listens (the runtime binds
a port of its own choosing on its node), and logs, resource usage and start-up failures come back
through the backend. Every method returns at once (the reconciler polls; it never blocks).
"""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass, field
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

# Files the launcher and the runtime write into the instance folder on the node.
ADDRESS_FILE = "address.json"  # {"address": "HOST:PORT" | "unix:/path"}, once the runtime listens
STATUS_FILE = "status.json"  # why start-up failed (script error, build error)
LAUNCH_FILE = "launch.json"  # written when the launcher hands over to the runtime


@dataclass(frozen=True)
class LaunchSpec:
    """Everything one instance needs; serialised as ``instance.json`` for the launcher.

    ``bind_host`` is only a hint (the backend chooses the address on its node); the port is always
    chosen by the runtime itself (it binds port 0 and reports what it got).
    """

    instance_id: str
    home: str
    endpoint: str
    deployment: str
    model: dict[str, Any] | None
    code: dict[str, Any] | None
    environment: dict[str, Any] | None
    environment_variables: dict[str, str]
    worker_count: int
    memory_limit_mib: int | None
    instance_type: str | None = None
    resources: dict[str, float] = field(default_factory=dict)  # cpus, memory_mib, gpus
    artifacts: dict[str, Any] | None = None  # where a node downloads code/model/env (over HTTP)
    # Resolved connection secrets (issue 16): handed to the instance's process environment only,
    # never written into instance.json or anywhere else on disk.
    secret_environment: dict[str, str] = field(default_factory=dict, repr=False)
    # egress_public_network_access: disabled → own network namespace, Unix socket (isolation.py)
    egress_disabled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "secret_environment"}


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
    """Opaque to everything but the backend that made it; the store keeps it as JSON.

    ``key`` is unique within the backend (local: ``pid:start-time``; Ray: the actor's name);
    ``data`` is whatever the backend needs to find the instance again after a control-plane
    restart (local: pid and start time; Ray: actor name and namespace).
    """

    backend: str
    key: str
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> str:
        return json.dumps({"backend": self.backend, "key": self.key, "data": self.data})

    @classmethod
    def from_json(cls, text: str) -> Handle:
        raw = json.loads(text)
        return cls(str(raw["backend"]), str(raw["key"]), dict(raw.get("data") or {}))

    @property
    def pid(self) -> int | None:
        """The process id when the backend knows one (informational: shown by `deployment show`)."""
        pid = self.data.get("pid")
        return int(pid) if pid is not None else None


class Liveness(StrEnum):
    RUNNING = "running"
    EXITED = "exited"


@dataclass(frozen=True)
class Observation:
    liveness: Liveness
    exit_code: int | None = None
    address: str | None = None  # "HOST:PORT" or "unix:/path" once the runtime listens
    failure: dict[str, Any] | None = None  # the start-up failure document, when it wrote one
    runtime_started: float | None = None  # when the launcher handed over to the runtime
    node: str | None = None  # where it runs (informational)


@dataclass(frozen=True)
class Usage:
    cpu_percent: float | None
    memory_mib: float | None


@dataclass(frozen=True)
class LogChunk:
    """Bytes of a log from an offset, and the log's size now (for incremental readers)."""

    data: bytes
    size: int


def address_url(address: str) -> str:
    """The URL the router and the prober use for a reported address."""
    if address.startswith("unix:"):
        return address  # a unix-socket upstream; the router's transport understands the scheme
    return f"http://{address}"


class ComputeBackend(abc.ABC):
    name: str

    @abc.abstractmethod
    def start(self, spec: LaunchSpec) -> Handle:
        """Launch an instance; return at once."""

    @abc.abstractmethod
    def start_worker(self, spec: WorkerSpec) -> Handle:
        """Launch a batch worker (``python -m switchman.batch.worker worker.json``); return at once.

        observe / terminate / kill / usage / discard work on the returned handle as for
        instances; ``read_log(handle, "stdout" | "stderr", lines)`` reads its output.
        """

    @abc.abstractmethod
    def observe(self, handle: Handle) -> Observation:
        """Is the instance still there, where does it listen, why did it end."""

    @abc.abstractmethod
    def terminate(self, handle: Handle) -> None:
        """Ask the instance to stop gracefully (drain, then exit)."""

    @abc.abstractmethod
    def kill(self, handle: Handle) -> None:
        """Stop the instance now (after the graceful deadline)."""

    @abc.abstractmethod
    def usage(self, handle: Handle) -> Usage | None:
        """CPU and resident memory of the instance (its whole process tree), or None when unknown."""

    def memory_mib(self, handle: Handle) -> float | None:
        used = self.usage(handle)
        return used.memory_mib if used is not None else None

    @abc.abstractmethod
    def read_log(self, handle: Handle, container: str, lines: int) -> str:
        """The last ``lines`` of an instance's container log (inference-server or storage-initializer)."""

    @abc.abstractmethod
    def log_chunk(
        self, handle: Handle, container: str, offset: int | None, limit: int
    ) -> LogChunk | None:
        """Up to ``limit`` bytes of a container log from ``offset`` (None: only the size)."""

    @abc.abstractmethod
    def discard(self, handle: Handle) -> None:
        """Forget a stopped instance: remove its folder and whatever the backend kept for it."""

    @abc.abstractmethod
    def sweep(self) -> int:
        """Stop every instance this backend runs for this platform, known to the store or not
        (``switchman down``, also without a control plane); returns how many were running."""

    def attach(self, api_url: str, artifact_token: str) -> None:  # noqa: B027
        """The control plane is starting: where its API (and artifact server) is reached, and the
        token nodes download artifacts with. A backend whose nodes share this disk ignores it."""

    def check_capacity(self, instance_type: str | None) -> None:  # noqa: B027
        """Raise OutOfCapacity when no node could ever hold one instance of this SKU."""

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release connections (the control plane is shutting down; instances keep running)."""
