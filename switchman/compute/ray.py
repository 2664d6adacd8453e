"""The Ray compute backend: each instance (or batch worker) is a process on some Ray node,
supervised by a detached, named actor (``switchman.compute.supervisor``).

* Placement: the actor asks for the SKU's vCPUs, memory and GPUs as Ray resources, so Ray's
  scheduler picks a node that fits (and spreads instances as resources run out); a SKU no node
  can ever fit is refused up front with ``OutOfCapacity``.
* Identity: actors are named after the instance in a namespace derived from ``SWITCHMAN_HOME``,
  and detached, so they outlive the control plane; a new control plane adopts them by name.
* Watching: one background thread asks every supervisor for its status a few times a second
  (one round trip for all of them); ``observe`` answers from that cache, so the reconciler's pass
  never waits on the network. A supervisor whose node is gone reads as exited: the reconciler
  replaces the instance on a node that is still there.

Ray is imported here only, and only when a platform runs with ``--backend ray``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import threading
from typing import Any

from switchman.compute.backend import (
    ComputeBackend,
    Handle,
    LaunchSpec,
    Liveness,
    LogChunk,
    Observation,
    Usage,
    WorkerSpec,
)
from switchman.errors import PlatformError, SwitchmanError
from switchman.home import Home
from switchman.spec.sku import find_sku

logger = logging.getLogger(__name__)

_SUPERVISOR: Any = None
POLL_S = 0.2
CALL_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 15.0


class OutOfCapacityError(SwitchmanError):
    status = 400
    default_code = "OutOfCapacity"


class RayUnavailableError(PlatformError):
    default_code = "RayUnavailable"


def namespace_of(home: Home) -> str:
    return "switchman-" + hashlib.sha256(str(home.root).encode()).hexdigest()[:12]


def resources_of(
    instance_type: str | None, override: dict[str, float] | None = None
) -> dict[str, float]:
    """Ray resources of one instance: the SKU's vCPUs, memory (bytes) and GPUs."""
    sku = find_sku(instance_type) if instance_type else None
    wanted = {
        "cpus": float(sku.vcpus) if sku else 1.0,
        "memory_mib": float(sku.memory_gib * 1024) if sku else 0.0,
        "gpus": float(sku.gpus) if sku else 0.0,
    }
    wanted.update(override or {})
    return wanted


def fits(wanted: dict[str, float], nodes: list[dict[str, Any]]) -> bool:
    """Can any alive node ever hold one instance (by its total, not its free, resources)?"""
    for node in nodes:
        if not node.get("Alive"):
            continue
        total = node.get("Resources") or {}
        if (
            float(total.get("CPU", 0)) >= wanted["cpus"]
            and float(total.get("memory", 0)) >= wanted["memory_mib"] * 1024 * 1024
            and float(total.get("GPU", 0)) >= wanted["gpus"]
        ):
            return True
    return False


def describe_nodes(nodes: list[dict[str, Any]]) -> str:
    parts = []
    for node in nodes:
        if not node.get("Alive"):
            continue
        total = node.get("Resources") or {}
        parts.append(
            f"{node.get('NodeManagerAddress')}: {float(total.get('CPU', 0)):g} CPU, "
            f"{float(total.get('memory', 0)) / 2**30:.1f} GiB, {float(total.get('GPU', 0)):g} GPU"
        )
    return "; ".join(parts) or "no alive nodes"


def connect(address: str, namespace: str) -> None:
    """``ray.init`` with the two failures a user meets turned into one clear paragraph each."""
    import ray

    if ray.is_initialized():
        return
    if not address:
        raise RayUnavailableError(
            "The Ray backend needs the cluster's address: `switchman up --backend ray "
            "--ray-address HOST:PORT` (the head node's GCS port, 6379 by default)."
        )
    host, _, port = address.rpartition(":")
    try:
        # ray.init retries an unreachable address for a long while; a closed port fails here.
        socket.create_connection(
            (host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT_S
        ).close()
    except (OSError, ValueError) as exc:
        raise RayUnavailableError(
            f"No Ray cluster answers at --ray-address {address} ({exc}). Start one with "
            "`ray start --head --port 6379` or pass the address of a running cluster's head node."
        ) from None
    try:
        ray.init(
            address=address,
            namespace=namespace,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    except ConnectionError as exc:
        raise RayUnavailableError(
            f"No Ray cluster answers at --ray-address {address} ({exc}). Start one with "
            "`ray start --head --port 6379` or pass the address of a running cluster's head node."
        ) from None
    except RuntimeError as exc:
        text = str(exc)
        if "ersion mismatch" in text:
            raise RayUnavailableError(
                f"The Ray cluster at {address} runs another Ray or Python version than this "
                f"machine (Ray {ray.__version__}): {text.strip()} Install the cluster's version "
                "here (`pip install 'ray==<cluster version>'`) or start the cluster with this one."
            ) from None
        raise RayUnavailableError(f"Cannot connect to Ray at {address}: {text}") from None


class RayBackend(ComputeBackend):
    name = "ray"

    def __init__(self, home: Home, address: str) -> None:
        self.home = home
        self.address = address
        self.namespace = namespace_of(home)
        self._actors: dict[str, Any] = {}
        self._status: dict[str, dict[str, Any]] = {}
        self._dead: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._artifacts: dict[str, Any] | None = None

    # -- connection ------------------------------------------------------------------------------

    def connect(self) -> None:
        connect(self.address, self.namespace)

    def attach(self, api_url: str, artifact_token: str) -> None:
        """Connect now (a wrong address fails the control plane's start, not the first deploy)
        and tell nodes where to download code and models (the control plane's artifact server)."""
        self.connect()
        self._artifacts = {"url": api_url, "token": artifact_token}

    def _actor_class(self) -> Any:
        global _SUPERVISOR
        if _SUPERVISOR is None:
            import ray

            from switchman.compute.supervisor import Supervisor

            _SUPERVISOR = ray.remote(max_restarts=0, max_task_retries=0)(Supervisor)
        return _SUPERVISOR

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._poll_loop, name="ray-observer", daemon=True
            )
            self._thread.start()

    # -- capacity --------------------------------------------------------------------------------

    def check_capacity(self, instance_type: str | None) -> None:
        import ray

        self.connect()
        wanted = resources_of(instance_type)
        nodes = ray.nodes()  # type: ignore[no-untyped-call]
        if not fits(wanted, nodes):
            gpus = f", {wanted['gpus']:g} GPU" if wanted["gpus"] else ""
            raise OutOfCapacityError(
                f"No node of the Ray cluster at {self.address} can hold one {instance_type} "
                f"instance ({wanted['cpus']:g} CPU, {wanted['memory_mib'] / 1024:.1f} GiB{gpus}). "
                f"The cluster's nodes: {describe_nodes(nodes)}. Pick a smaller instance_type or add "
                "a node that fits (`ray start --address HEAD:PORT --num-cpus N --memory BYTES`)."
            )

    # -- starting --------------------------------------------------------------------------------

    def start(self, spec: LaunchSpec) -> Handle:
        self.check_capacity(spec.instance_type)
        wanted = resources_of(spec.instance_type, spec.resources or None)
        payload = spec.to_json()
        if self._artifacts is not None:
            payload["artifacts"] = self._artifacts
        if spec.secret_environment:  # the supervisor puts these in the environment, not on disk
            payload["secret_environment"] = dict(spec.secret_environment)
        return self._spawn("instance", spec.instance_id, payload, wanted)

    def start_worker(self, spec: WorkerSpec) -> Handle:
        self.connect()
        wanted = {"cpus": spec.cpus, "memory_mib": float(spec.memory_mib or 0), "gpus": 0.0}
        payload = spec.to_json()
        if self._artifacts is not None:
            payload["artifacts"] = self._artifacts
        return self._spawn("worker", spec.worker_id, payload, wanted)

    def _spawn(
        self, kind: str, ident: str, payload: dict[str, Any], wanted: dict[str, float]
    ) -> Handle:
        self.connect()
        options: dict[str, Any] = {
            "name": ident,
            "namespace": self.namespace,
            "lifetime": "detached",
            "num_cpus": wanted["cpus"],
            "num_gpus": wanted["gpus"],
            # Replicas of one deployment on different nodes: losing a node loses fewer of them.
            "scheduling_strategy": "SPREAD",
        }
        if wanted["memory_mib"]:
            options["memory"] = int(wanted["memory_mib"] * 1024 * 1024)
        actor = self._actor_class().options(**options).remote(kind, ident, self.namespace, payload)
        with self._lock:
            self._actors[ident] = actor
        self._ensure_thread()
        return Handle(self.name, ident, {"name": ident, "namespace": self.namespace, "kind": kind})

    # -- watching --------------------------------------------------------------------------------

    def _actor(self, handle: Handle) -> Any | None:
        with self._lock:
            actor = self._actors.get(handle.key)
        if actor is not None or handle.key in self._dead:
            return actor
        import ray

        self.connect()
        try:
            actor = ray.get_actor(handle.key, namespace=self.namespace)  # adopted after a restart
        except ValueError:
            self._dead.add(handle.key)
            return None
        with self._lock:
            self._actors[handle.key] = actor
        self._ensure_thread()
        return actor

    def _poll_loop(self) -> None:
        """Keep one status call in flight per supervisor and take answers as they come: an actor
        still being created (its worker process starting) never delays what the others report."""
        import ray

        inflight: dict[str, Any] = {}
        while not self._stop.is_set():
            with self._lock:
                actors = dict(self._actors)
            for key in [k for k in inflight if k not in actors]:
                del inflight[key]
            for key, actor in actors.items():
                if key not in inflight:
                    with contextlib.suppress(Exception):
                        inflight[key] = actor.status.remote()
            if not inflight:
                self._stop.wait(POLL_S)
                continue
            ready, _ = ray.wait(list(inflight.values()), num_returns=len(inflight), timeout=POLL_S)
            done = set(ready)
            for key, ref in list(inflight.items()):
                if ref not in done:
                    continue
                del inflight[key]
                try:
                    status = ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.ActorDiedError):
                    status = {"running": False, "exit_code": None, "lost": True}
                    with self._lock:
                        self._actors.pop(key, None)
                    self._dead.add(key)
                except Exception:
                    logger.exception("status of %s", key)
                    continue
                with self._lock:
                    self._status[key] = status
            if not inflight:
                self._stop.wait(POLL_S / 2)  # everyone answered: pace the next round

    def observe(self, handle: Handle) -> Observation:
        actor = self._actor(handle)
        with self._lock:
            status = self._status.get(handle.key)
        if status is None:
            if actor is None:
                return Observation(Liveness.EXITED)  # no such actor any more
            return Observation(Liveness.RUNNING)  # not polled yet
        return Observation(
            Liveness.RUNNING if status.get("running") else Liveness.EXITED,
            status.get("exit_code"),
            address=status.get("address"),
            failure=status.get("failure"),
            runtime_started=status.get("runtime_started"),
            node=status.get("node"),
        )

    def _call(self, handle: Handle, method: str, *args: Any) -> Any:
        import ray

        actor = self._actor(handle)
        if actor is None:
            return None
        try:
            return ray.get(getattr(actor, method).remote(*args), timeout=CALL_TIMEOUT_S)
        except Exception:
            return None

    def usage(self, handle: Handle) -> Usage | None:
        used = self._call(handle, "usage")
        if not used:
            return None
        return Usage(cpu_percent=used.get("cpu_percent"), memory_mib=used.get("memory_mib"))

    def read_log(self, handle: Handle, container: str, lines: int) -> str:
        return str(self._call(handle, "read_log", container, lines) or "")

    def log_chunk(
        self, handle: Handle, container: str, offset: int | None, limit: int
    ) -> LogChunk | None:
        if offset is None:
            with self._lock:
                status = self._status.get(handle.key) or {}
            size = (status.get("log_sizes") or {}).get(container)
            return LogChunk(b"", int(size)) if size is not None else None
        got = self._call(handle, "log_chunk", container, offset, limit)
        return LogChunk(got[0], got[1]) if got else None

    # -- stopping --------------------------------------------------------------------------------

    def terminate(self, handle: Handle) -> None:
        actor = self._actor(handle)
        if actor is not None:
            with contextlib.suppress(Exception):
                actor.terminate.remote()

    def kill(self, handle: Handle) -> None:
        actor = self._actor(handle)
        if actor is not None:
            with contextlib.suppress(Exception):
                actor.kill.remote()

    def discard(self, handle: Handle) -> None:
        import ray

        actor = self._actor(handle)
        with self._lock:
            self._actors.pop(handle.key, None)
            self._status.pop(handle.key, None)
        if actor is None:
            return
        ref = actor.shutdown.remote(0.0)
        # The folder goes with it; the actor ends once shutdown answered (in the background).
        threading.Thread(target=_kill_after, args=(ray, actor, ref), daemon=True).start()

    def sweep(self) -> int:
        import ray

        self.connect()
        names = [
            entry["name"]
            for entry in ray.util.list_named_actors(all_namespaces=True)
            if entry.get("namespace") == self.namespace
        ]
        actors = []
        for name in names:
            with contextlib.suppress(ValueError):
                actors.append(ray.get_actor(name, namespace=self.namespace))
        refs: list[Any] = [a.shutdown.remote(5.0) for a in actors]
        running = 0
        for ref in refs:
            with contextlib.suppress(Exception):
                running += bool(ray.get(ref, timeout=30))
        for actor in actors:
            with contextlib.suppress(Exception):
                ray.kill(actor, no_restart=True)
        with self._lock:
            self._actors.clear()
            self._status.clear()
        return running

    def nodes(self) -> list[dict[str, Any]]:
        import ray

        self.connect()
        return list(ray.nodes())  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._stop.set()
        import ray

        if ray.is_initialized():
            ray.shutdown()


def _kill_after(ray: Any, actor: Any, ref: Any) -> None:
    with contextlib.suppress(Exception):
        ray.get(ref, timeout=30)
    with contextlib.suppress(Exception):
        ray.kill(actor, no_restart=True)
