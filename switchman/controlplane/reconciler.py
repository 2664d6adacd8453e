"""The reconciler: a level-triggered loop that drives instances toward each deployment's spec.

Every pass reads the store, observes instances through the compute backend, probes the starting
ones, starts or stops instances, writes status (only the reconciler does) and republishes the route
table. Each step is idempotent, so a crash or restart of the control plane just continues: running
instances recorded in the store are adopted, dead ones replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from switchman.compute.backend import ComputeBackend, Handle, LaunchSpec, Liveness
from switchman.controlplane.routes import RoutePublisher
from switchman.controlplane.store import DeploymentRecord, InstanceRecord, Store
from switchman.home import Home
from switchman.status import (
    LIVE_INSTANCE_STATES,
    InstanceState,
    ProvisioningState,
    check_transition,
)

logger = logging.getLogger(__name__)

STOP_GRACE_S = 10.0
CRASH_BACKOFF_BASE_S = 1.0
CRASH_BACKOFF_MAX_S = 60.0
# A deployment whose new instances crash this often before any became ready is reported Failed.
MAX_STARTUP_CRASHES = 3
KEEP_FAILED_INSTANCES = 2


class Prober(Protocol):
    async def ready(self, url: str, timeout: float) -> bool: ...


class HttpProber:
    """Readiness = the runtime answers ``GET /`` with 200 (it binds only after ``init()``)."""

    def __init__(self) -> None:
        self._client = httpx.AsyncClient(trust_env=False)

    async def ready(self, url: str, timeout: float) -> bool:
        try:
            response = await self._client.get(url + "/", timeout=timeout)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def close(self) -> None:
        await self._client.aclose()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class _Crashes:
    """Consecutive crashes of one deployment template, for back-off."""

    count: int = 0
    next_start: float = 0.0


@dataclass
class Reconciler:
    home: Home
    store: Store
    backend: ComputeBackend
    publisher: RoutePublisher
    prober: Prober = field(default_factory=HttpProber)
    clock: Callable[[], float] = time.time
    paused: bool = False
    _crashes: dict[tuple[str, str, str], _Crashes] = field(default_factory=dict)

    async def run(self, interval: float = 0.1) -> None:
        """Loop forever; a failing pass is logged and the next one runs (never dies)."""
        while True:
            started = time.perf_counter()
            try:
                if not self.paused:
                    await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("reconciler pass failed")
            elapsed = time.perf_counter() - started
            if elapsed > 1.0:
                logger.warning("reconciler pass took %.2fs", elapsed)
            await asyncio.sleep(interval)

    async def step(self) -> None:
        for dep in self.store.list_deployments():
            await self._reconcile(dep)
        self._finish_endpoint_deletes()
        self.publisher.publish()

    # -- one deployment --------------------------------------------------------------------------

    async def _reconcile(self, dep: DeploymentRecord) -> None:
        instances = self.store.list_instances(dep.endpoint, dep.name)
        for inst in instances:
            self._observe(dep, inst)
        await self._probe_starting([i for i in instances if i.state == InstanceState.STARTING])
        self._finish_stops(instances)

        status = dict(dep.status)
        state = status.get("provisioning_state")
        template = str(dep.resolved.get("template"))
        deleting = state == ProvisioningState.DELETING
        desired = 0 if deleting else int(dep.spec.get("instance_count", 1))
        current = [
            i for i in instances if i.template == template and i.state in LIVE_INSTANCE_STATES
        ]
        old = [i for i in instances if i.template != template and i.state in LIVE_INSTANCE_STATES]
        failed = status.get("failed_template") == template

        if not failed and not deleting:
            missing = desired - len(current)
            if missing > 0 and self._may_start(dep, template):
                for _ in range(missing):
                    current.append(self._start(dep))
            elif missing < 0:
                # Scale in: not-yet-ready instances first, then the newest ready ones.
                extras = sorted(
                    current, key=lambda i: (i.state == InstanceState.READY, i.created_at)
                )
                for inst in extras[:-missing]:
                    self._stop(inst, "scale in")
                    current.remove(inst)
        ready = [i for i in current if i.state == InstanceState.READY]
        if deleting:
            for inst in current + old:
                self._stop(inst, "deployment deleted")
        elif len(ready) >= desired:
            for inst in old:
                self._stop(inst, "replaced by an updated instance")
        self._prune_failed(dep, instances)

        remaining = [
            i
            for i in self.store.list_instances(dep.endpoint, dep.name)
            if i.state != InstanceState.FAILED
        ]
        if deleting:
            if not remaining:
                self._remove_deployment(dep)
            return
        if failed:
            new_state = ProvisioningState.FAILED
        elif len(ready) >= desired and not old:
            new_state = ProvisioningState.SUCCEEDED
            status.pop("error", None)
        elif state in (ProvisioningState.SUCCEEDED, ProvisioningState.FAILED):
            new_state = ProvisioningState.UPDATING
        else:
            new_state = ProvisioningState(state or ProvisioningState.CREATING)
        status["provisioning_state"] = new_state
        if new_state in (ProvisioningState.SUCCEEDED, ProvisioningState.FAILED):
            status["observed_generation"] = dep.generation
        if status != dep.status:
            self.store.set_deployment_status(dep.endpoint, dep.name, status)

    def _may_start(self, dep: DeploymentRecord, template: str) -> bool:
        crashes = self._crashes.get((dep.endpoint, dep.name, template))
        return crashes is None or self.clock() >= crashes.next_start

    def _start(self, dep: DeploymentRecord) -> InstanceRecord:
        resolved = dep.resolved
        instance_id = f"{dep.name}-{secrets.token_hex(3)}"
        folder = self.home.instances_dir / dep.endpoint / instance_id
        port = free_port()
        spec = LaunchSpec(
            instance_id=instance_id,
            home=str(self.home.root),
            endpoint=dep.endpoint,
            deployment=dep.name,
            instance_dir=str(folder),
            host="127.0.0.1",
            port=port,
            model=resolved.get("model"),
            code=resolved.get("code"),
            environment=resolved.get("environment"),
            environment_variables=dict(resolved.get("environment_variables") or {}),
            worker_count=int(resolved.get("worker_count") or 1),
            memory_limit_mib=resolved.get("memory_limit_mib"),
        )
        handle = self.backend.start(spec)
        record = InstanceRecord(
            id=instance_id,
            endpoint=dep.endpoint,
            deployment=dep.name,
            template=str(resolved.get("template")),
            state=InstanceState.STARTING,
            dir=str(folder),
            created_at=self.clock(),
            pid=handle.pid,
            pid_started=handle.started,
            port=port,
            url=f"http://127.0.0.1:{port}",
        )
        self.store.upsert_instance(record)
        self._event(record, "Started", f"Started instance {instance_id} (pid {handle.pid})")
        return record

    def _observe(self, dep: DeploymentRecord, inst: InstanceRecord) -> None:
        if inst.state == InstanceState.FAILED or inst.pid is None:
            return
        seen = self.backend.observe(Handle(inst.pid, inst.pid_started or 0.0))
        if seen.liveness == Liveness.RUNNING:
            return
        if inst.state in (InstanceState.STOPPING, InstanceState.DRAINING):
            self._forget(inst)
            return
        failure = _read_status_file(inst.dir)
        code = seen.exit_code
        self._set_state(inst, InstanceState.FAILED, exit_code=code)
        key = (dep.endpoint, dep.name, inst.template)
        if failure is not None and inst.template == dep.resolved.get("template"):
            # The script itself cannot start: no restart will help until the spec changes.
            message = f"{failure.get('code')}: {failure.get('message')}"
            self._event(inst, "Failed", message)
            self._fail(dep, str(failure.get("code") or "ResourceNotReady"), message, inst)
            return
        crashes = self._crashes.setdefault(key, _Crashes())
        crashes.count += 1
        delay = min(CRASH_BACKOFF_BASE_S * 2 ** (crashes.count - 1), CRASH_BACKOFF_MAX_S)
        crashes.next_start = self.clock() + delay
        self._event(
            inst, "BackOff", f"Instance exited with code {code}; restarting in {delay:.0f}s"
        )
        never_ready = dep.status.get("provisioning_state") in (
            ProvisioningState.CREATING,
            ProvisioningState.UPDATING,
        )
        if (
            never_ready
            and crashes.count >= MAX_STARTUP_CRASHES
            and inst.template == dep.resolved.get("template")
        ):
            tail = self.backend.read_log(inst.dir, "inference-server", 20).strip()
            self._fail(
                dep,
                "ResourceNotReady",
                f"Instances of deployment {dep.name} exited {crashes.count} times during start-up "
                f"(last exit code {code}). Last log lines:\n{tail}",
                inst,
            )

    def _fail(self, dep: DeploymentRecord, code: str, message: str, inst: InstanceRecord) -> None:
        status = dict(dep.status)
        status.update(
            provisioning_state=ProvisioningState.FAILED,
            failed_template=inst.template,
            error={"code": code, "message": message},
        )
        dep.status = status
        self.store.set_deployment_status(dep.endpoint, dep.name, status)

    async def _probe_starting(self, starting: list[InstanceRecord]) -> None:
        live = [i for i in starting if i.url]
        results = await asyncio.gather(*(self.prober.ready(str(i.url), 1.0) for i in live))
        for inst, ok in zip(live, results, strict=True):
            if ok:
                self._set_state(inst, InstanceState.READY, ready_at=self.clock())
                self._event(inst, "Ready", f"Instance {inst.id} is ready")
                self._crashes.pop((inst.endpoint, inst.deployment, inst.template), None)

    def _stop(self, inst: InstanceRecord, why: str) -> None:
        if inst.state not in LIVE_INSTANCE_STATES:
            return
        self._set_state(inst, InstanceState.STOPPING, stop_deadline=self.clock() + STOP_GRACE_S)
        self._event(inst, "Killing", f"Stopping instance {inst.id}: {why}")
        if inst.pid:
            self.backend.terminate(Handle(inst.pid, inst.pid_started or 0.0))

    def _finish_stops(self, instances: list[InstanceRecord]) -> None:
        for inst in instances:
            if (
                inst.state == InstanceState.STOPPING
                and inst.stop_deadline
                and self.clock() > inst.stop_deadline
                and inst.pid
            ):
                self.backend.kill(Handle(inst.pid, inst.pid_started or 0.0))

    def _prune_failed(self, dep: DeploymentRecord, instances: list[InstanceRecord]) -> None:
        failed = sorted(
            (i for i in instances if i.state == InstanceState.FAILED), key=lambda i: i.created_at
        )
        for inst in failed[:-KEEP_FAILED_INSTANCES]:
            self._forget(inst)

    def _forget(self, inst: InstanceRecord) -> None:
        self.store.delete_instance(inst.id)
        if inst.state != InstanceState.FAILED:
            shutil.rmtree(inst.dir, ignore_errors=True)

    def _remove_deployment(self, dep: DeploymentRecord) -> None:
        for inst in self.store.list_instances(dep.endpoint, dep.name):
            self.store.delete_instance(inst.id)
            shutil.rmtree(inst.dir, ignore_errors=True)
        self.store.delete_deployment_row(dep.endpoint, dep.name)
        self.store.add_event(
            "Deleted", f"Deployment {dep.name} deleted", endpoint=dep.endpoint, deployment=dep.name
        )

    def _finish_endpoint_deletes(self) -> None:
        for ep in self.store.list_endpoints():
            if ep.status.get(
                "provisioning_state"
            ) == ProvisioningState.DELETING and not self.store.list_deployments(ep.name):
                self.store.delete_endpoint_row(ep.name)
                with contextlib.suppress(OSError):
                    shutil.rmtree(self.home.instances_dir / ep.name)
                self.store.add_event("Deleted", f"Endpoint {ep.name} deleted", endpoint=ep.name)

    def _set_state(self, inst: InstanceRecord, state: InstanceState, **changes: Any) -> None:
        check_transition(InstanceState(inst.state), state)
        inst.state = state
        for key, value in changes.items():
            setattr(inst, key, value)
        self.store.upsert_instance(inst)

    def _event(self, inst: InstanceRecord, name: str, message: str) -> None:
        self.store.add_event(
            name, message, endpoint=inst.endpoint, deployment=inst.deployment, instance=inst.id
        )

    # -- whole-platform operations ---------------------------------------------------------------

    def stop_all(self, timeout: float = STOP_GRACE_S) -> int:
        """Drain and stop every instance (``switchman down``); returns how many were stopped."""
        self.paused = True
        instances = [i for i in self.store.list_instances() if i.state != InstanceState.FAILED]
        for inst in instances:
            if inst.state in LIVE_INSTANCE_STATES:
                self._set_state(inst, InstanceState.STOPPING, stop_deadline=self.clock() + timeout)
        self.publisher.publish()  # out of the route table before they are stopped
        for inst in instances:
            if inst.pid:
                self.backend.terminate(Handle(inst.pid, inst.pid_started or 0.0))
        deadline = time.monotonic() + timeout
        pending = list(instances)
        while pending and time.monotonic() < deadline:
            pending = [
                i
                for i in pending
                if i.pid
                and self.backend.observe(Handle(i.pid, i.pid_started or 0.0)).liveness
                == Liveness.RUNNING
            ]
            if pending:
                time.sleep(0.05)
        for inst in pending:
            if inst.pid:
                self.backend.kill(Handle(inst.pid, inst.pid_started or 0.0))
        for inst in instances:
            self.store.delete_instance(inst.id)
        return len(instances)


def _read_status_file(folder: str) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(folder) / "status.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
