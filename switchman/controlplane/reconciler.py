"""The reconciler: a level-triggered loop that drives instances toward each deployment's spec.

Every pass reads the store, observes instances through the compute backend, collects probe results,
starts, drains or stops instances, writes status (only the reconciler does) and republishes the route
table. Each step is idempotent and nothing it needs lives only in memory except probe counters, so a
crash or restart of the control plane just continues: running instances recorded in the store are
adopted, dead ones replaced.

Rolling updates (reference §13.2): a spec change other than instance_count replaces instances with a
surge of ⌈20%⌉ of instance_count (at least one): start new, wait until ready, drain an old one (out of
the route table, then SIGTERM so it finishes its in-flight requests), repeat. A scale-in is applied
before the roll; extra capacity for a scale-out comes from new instances, so nothing restarts twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from switchman.compute.backend import (
    ComputeBackend,
    Handle,
    LaunchSpec,
    Liveness,
    Observation,
    address_url,
)
from switchman.controlplane.connections import without_references
from switchman.controlplane.console import ConsoleCollector
from switchman.controlplane.routes import RoutePublisher
from switchman.controlplane.store import DeploymentRecord, InstanceRecord, Store
from switchman.errors import SwitchmanError
from switchman.home import Home
from switchman.status import (
    LIVE_INSTANCE_STATES,
    InstanceState,
    ProvisioningState,
    check_transition,
)

logger = logging.getLogger(__name__)

DRAIN_S = 1.0  # time for the router to load a table without the instance (it polls every ≤100 ms)
STOP_GRACE_EXTRA_S = 5.0
CRASH_BACKOFF_BASE_S = 1.0
CRASH_BACKOFF_MAX_S = 60.0
STABLE_S = 30.0  # ready this long → the crash history of its template is forgiven
MIN_HEALTHY_S = 3.0  # ready this long before dying → treated as a lost node, replaced at once
MAX_STARTUP_CRASHES = 3  # new instances crashing this often before any became ready → Failed
KEEP_FAILED_INSTANCES = 2
SURGE_FRACTION = 0.2
MEMORY_CHECK_S = 0.5
CONSOLE_EVERY_S = 1.0
MODEL_LISTING_LINES = 15


class Prober(Protocol):
    async def probe(self, url: str, timeout: float) -> tuple[bool, str]: ...


class HttpProber:
    """Probes ``GET /`` (the runtime binds only after ``init()``, so 200 means initialised)."""

    def __init__(self) -> None:
        self._client = httpx.AsyncClient(trust_env=False)

    async def probe(self, url: str, timeout: float) -> tuple[bool, str]:
        try:
            if url.startswith("unix:"):  # a network-isolated instance: its socket, one use
                transport = httpx.AsyncHTTPTransport(uds=url[len("unix:") :])
                async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
                    response = await client.get("http://localhost/", timeout=timeout)
            else:
                response = await self._client.get(url + "/", timeout=timeout)
        except httpx.TimeoutException:
            return False, f'Get "{url}/": context deadline exceeded (timeout {timeout:g}s)'
        except httpx.HTTPError as exc:
            return False, f'Get "{url}/": {type(exc).__name__}: {exc}'
        if response.status_code == 200:
            return True, ""
        return False, f"HTTP probe failed with statuscode: {response.status_code}"

    async def close(self) -> None:
        await self._client.aclose()


def surge(instance_count: int) -> int:
    return max(1, math.ceil(SURGE_FRACTION * instance_count))


@dataclass
class _Crashes:
    """Consecutive crashes of one deployment template, for back-off."""

    count: int = 0
    next_start: float = 0.0


@dataclass
class _Probes:
    """In-memory probe counters of one instance (lost on restart, which only restarts counting)."""

    next_liveness: float = 0.0
    next_readiness: float = 0.0
    live_failures: int = 0
    ready_failures: int = 0
    ready_successes: int = 0
    task: asyncio.Task[tuple[bool, str]] | None = None
    kinds: tuple[str, ...] = ()


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
    _probes: dict[str, _Probes] = field(default_factory=dict)
    _memory_checked: float = 0.0
    console: ConsoleCollector | None = None
    _console_at: float = 0.0
    _seen: dict[str, Observation] = field(default_factory=dict)
    # Held for a whole pass: `stop_all` takes it so no pass runs (and starts anything) meanwhile.
    _pass_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # security: resolves a deployment's connection references into secret values at start
    secret_environment: Callable[[dict[str, str]], dict[str, str]] = lambda _: {}

    async def run(self, interval: float = 0.1) -> None:
        """Loop forever; a failing pass is logged and the next one runs (never dies)."""
        while True:
            started = time.perf_counter()
            try:
                async with self._pass_lock:
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
        check_memory = self.clock() - self._memory_checked >= MEMORY_CHECK_S
        if check_memory:
            self._memory_checked = self.clock()
        for dep in self.store.list_deployments():
            await self._reconcile(dep, check_memory)
        self._finish_endpoint_deletes()
        self.publisher.publish()
        if self.console is not None and self.clock() - self._console_at >= CONSOLE_EVERY_S:
            self._console_at = self.clock()
            self.console.collect(self.store.list_instances(), self.backend)

    # -- one deployment --------------------------------------------------------------------------

    async def _reconcile(self, dep: DeploymentRecord, check_memory: bool) -> None:
        instances = self.store.list_instances(dep.endpoint, dep.name)
        for inst in instances:
            self._observe(dep, inst, check_memory)
        self._collect_probes(dep, instances)
        self._launch_probes(dep, instances)
        self._advance_stops(dep, instances)

        status = dict(dep.status)
        state = status.get("provisioning_state")
        template = str(dep.resolved.get("template"))
        deleting = state == ProvisioningState.DELETING
        desired = 0 if deleting else int(dep.spec.get("instance_count", 1))
        live = [i for i in instances if i.state in LIVE_INSTANCE_STATES]
        current = [i for i in live if i.template == template]
        old = [i for i in live if i.template != template]
        failed = status.get("failed_template") == template

        if deleting:
            for inst in live:
                self._drain(inst, "deployment deleted")
        elif not failed:
            self._converge(dep, desired, current, old)
        self._forgive_stable(dep, current)
        self._prune_failed(instances)

        if deleting:
            if not [
                i
                for i in self.store.list_instances(dep.endpoint, dep.name)
                if i.state != InstanceState.FAILED
            ]:
                self._remove_deployment(dep)
            return
        self._write_status(dep, status, desired, template, failed)

    def _converge(
        self,
        dep: DeploymentRecord,
        desired: int,
        current: list[InstanceRecord],
        old: list[InstanceRecord],
    ) -> None:
        template = str(dep.resolved.get("template"))
        ready_new = [i for i in current if i.state == InstanceState.READY]
        if old:
            # Rolling update: keep ready capacity ≥ desired while replacing at most `surge` at a time.
            target_new = min(desired, desired - len(old) + surge(desired))
            retire = len(ready_new) + len(old) - desired
            for inst in sorted(old, key=lambda i: (i.state == InstanceState.READY, i.created_at))[
                : max(retire, 0)
            ]:
                self._drain(inst, "replaced by an updated instance")
        else:
            target_new = desired
        missing = target_new - len(current)
        if missing > 0 and self._may_start(dep, template):
            for _ in range(missing):
                try:
                    current.append(self._start(dep))
                except SwitchmanError as exc:  # e.g. OutOfCapacity: the cluster changed
                    status = {
                        **dep.status,
                        "provisioning_state": ProvisioningState.FAILED,
                        "failed_template": template,
                        "error": {"code": exc.code, "message": exc.message},
                    }
                    dep.status = status
                    self.store.set_deployment_status(dep.endpoint, dep.name, status)
                    break
        elif len(current) > desired:
            # Scale in: not-yet-ready instances first, then the newest ready ones.
            extras = sorted(current, key=lambda i: (i.state == InstanceState.READY, -i.created_at))
            for inst in extras[: len(current) - desired]:
                self._drain(inst, "scale in")

    def _write_status(
        self,
        dep: DeploymentRecord,
        status: dict[str, Any],
        desired: int,
        template: str,
        failed: bool,
    ) -> None:
        instances = self.store.list_instances(dep.endpoint, dep.name)
        ready = [i for i in instances if i.template == template and i.state == InstanceState.READY]
        old = [i for i in instances if i.template != template and i.state in LIVE_INSTANCE_STATES]
        state = status.get("provisioning_state")
        if failed:
            new_state = ProvisioningState.FAILED
        elif len(ready) >= desired and not old:
            new_state = ProvisioningState.SUCCEEDED
            if status.get("error", {}).get("code") != "CrashLoopBackOff":
                status.pop("error", None)
            status["observed_generation"] = dep.generation
        elif status.get("observed_generation") == dep.generation:
            new_state = ProvisioningState.SUCCEEDED  # reached once; now healing itself
        elif status.get("observed_generation") is None:
            new_state = ProvisioningState.CREATING
        else:
            new_state = ProvisioningState.UPDATING
        if new_state == ProvisioningState.FAILED:
            status["observed_generation"] = dep.generation
        status["provisioning_state"] = new_state
        if new_state == ProvisioningState.SUCCEEDED and state != new_state:
            # Publish the ready instances before `show` says Succeeded, so a client that then
            # waits for the router to load this table version can score at once (issue #14).
            self.publisher.publish()
        if status != dep.status or state != new_state:
            self.store.set_deployment_status(dep.endpoint, dep.name, status)
            dep.status = status

    def _may_start(self, dep: DeploymentRecord, template: str) -> bool:
        crashes = self._crashes.get((dep.endpoint, dep.name, template))
        return crashes is None or self.clock() >= crashes.next_start

    def _start(self, dep: DeploymentRecord) -> InstanceRecord:
        resolved = dep.resolved
        instance_id = f"{dep.name}-{secrets.token_hex(3)}"
        spec = LaunchSpec(
            instance_id=instance_id,
            home=str(self.home.root),
            endpoint=dep.endpoint,
            deployment=dep.name,
            model=resolved.get("model"),
            code=resolved.get("code"),
            environment=resolved.get("environment"),
            environment_variables=without_references(resolved.get("environment_variables") or {}),
            worker_count=int(resolved.get("worker_count") or 1),
            memory_limit_mib=resolved.get("memory_limit_mib"),
            instance_type=dep.spec.get("instance_type"),
            resources=dict(resolved.get("resources") or {}),
            secret_environment=self.secret_environment(resolved.get("environment_variables") or {}),
            egress_disabled=dep.spec.get("egress_public_network_access") == "disabled",
        )
        handle = self.backend.start(spec)
        record = InstanceRecord(
            id=instance_id,
            endpoint=dep.endpoint,
            deployment=dep.name,
            template=str(resolved.get("template")),
            state=InstanceState.STARTING,
            dir=str(handle.data.get("dir") or ""),
            created_at=self.clock(),
            pid=handle.pid,
            pid_started=handle.data.get("started"),
            handle=handle.to_json(),
        )
        self.store.upsert_instance(record)
        self._event(
            record, "Created", f"Created container inference-server of instance {instance_id}"
        )
        where = f"pid {handle.pid}" if handle.pid is not None else handle.key
        self._event(record, "Started", f"Started container inference-server ({where})")
        return record

    # -- observing processes ---------------------------------------------------------------------

    def _observe(self, dep: DeploymentRecord, inst: InstanceRecord, check_memory: bool) -> None:
        handle = _handle(inst)
        if inst.state == InstanceState.FAILED or handle is None:
            return
        seen = self.backend.observe(handle)
        self._seen[inst.id] = seen
        if seen.address and seen.address != inst.address:
            # The runtime bound its own port on its node; the backend reports it once it listens.
            inst.address = seen.address
            inst.url = address_url(seen.address)
            port = seen.address.rsplit(":", 1)[-1]
            inst.port = int(port) if port.isdigit() else None
            self.store.upsert_instance(inst)
        if seen.liveness == Liveness.RUNNING:
            limit = dep.resolved.get("memory_limit_mib")
            if check_memory and limit and inst.state in LIVE_INSTANCE_STATES:
                used = self.backend.memory_mib(handle)
                if used is not None and used > float(limit):
                    self.backend.kill(handle)
                    message = f"Container inference-server was OOMKilled: {used:.0f} MiB over the {limit} MiB limit"
                    self._event(inst, "OOMKilled", message)
                    self._crashed(dep, inst, None, message)
            return
        if inst.state in (InstanceState.STOPPING, InstanceState.DRAINING):
            self._forget(inst)
            return
        failure = seen.failure
        if failure is not None and inst.template == dep.resolved.get("template"):
            # The script itself cannot start: no restart helps until the spec changes.
            message = f"{failure.get('code')}: {failure.get('message')}"
            self._set_state(inst, InstanceState.FAILED, exit_code=seen.exit_code, message=message)
            self._event(inst, "Failed", message)
            listing = [str(line) for line in failure.get("model_dir_listing") or []]
            if listing and failure.get("code") == "UserScriptInitFailed":
                # Most init() failures are wrong model paths: show what AZUREML_MODEL_DIR holds.
                shown = "\n  ".join(listing[:MODEL_LISTING_LINES])
                more = (
                    f"\n  ... ({len(listing) - MODEL_LISTING_LINES} more)"
                    if len(listing) > MODEL_LISTING_LINES
                    else ""
                )
                message += f"\nAZUREML_MODEL_DIR contains:\n  {shown}{more}"
            self._fail(dep, str(failure.get("code") or "ResourceNotReady"), message, inst)
            return
        self._crashed(dep, inst, seen.exit_code, f"Instance exited with code {seen.exit_code}")

    def _crashed(
        self, dep: DeploymentRecord, inst: InstanceRecord, code: int | None, message: str
    ) -> None:
        healthy_for = (
            self.clock() - inst.ready_at
            if inst.state == InstanceState.READY and inst.ready_at
            else 0.0
        )
        self._set_state(inst, InstanceState.FAILED, exit_code=code, message=message)
        self._probes.pop(inst.id, None)
        key = (dep.endpoint, dep.name, inst.template)
        crashes = self._crashes.setdefault(key, _Crashes())
        # An instance that served for a while and then died is a lost node, not a crash loop:
        # replace it at once. Only quick deaths (before or soon after ready) build up back-off.
        crashes.count = 1 if healthy_for >= MIN_HEALTHY_S else crashes.count + 1
        # The first replacement starts at once; repeated crashes back off exponentially.
        delay = (
            0.0
            if crashes.count == 1
            else min(CRASH_BACKOFF_BASE_S * 2 ** (crashes.count - 2), CRASH_BACKOFF_MAX_S)
        )
        crashes.next_start = self.clock() + delay
        self._event(
            inst,
            "BackOff",
            f"Back-off restarting failed container: {message}; next start in {delay:.0f}s",
        )
        if inst.template != dep.resolved.get("template") or crashes.count < MAX_STARTUP_CRASHES:
            return
        handle = _handle(inst)
        tail = (
            self.backend.read_log(handle, "inference-server", 20).strip()
            if handle is not None
            else ""
        )
        if dep.status.get("observed_generation") != dep.generation:
            self._fail(
                dep,
                "ResourceNotReady",
                f"Instances of deployment {dep.name} exited {crashes.count} times during start-up "
                f"(last: {message}). Last log lines:\n{tail}",
                inst,
            )
        else:
            status = {
                **dep.status,
                "error": {
                    "code": "CrashLoopBackOff",
                    "message": f"Instances crashed {crashes.count} times in a row (last: {message}); restarting with back-off.",
                },
            }
            dep.status = status
            self.store.set_deployment_status(dep.endpoint, dep.name, status)

    def _forgive_stable(self, dep: DeploymentRecord, current: list[InstanceRecord]) -> None:
        key = (dep.endpoint, dep.name, str(dep.resolved.get("template")))
        if key not in self._crashes:
            return
        now = self.clock()
        if any(
            i.state == InstanceState.READY and i.ready_at and now - i.ready_at >= STABLE_S
            for i in current
        ):
            del self._crashes[key]
            if dep.status.get("error", {}).get("code") == "CrashLoopBackOff":
                status = {k: v for k, v in dep.status.items() if k != "error"}
                dep.status = status
                self.store.set_deployment_status(dep.endpoint, dep.name, status)

    def _fail(self, dep: DeploymentRecord, code: str, message: str, inst: InstanceRecord) -> None:
        status = dict(dep.status)
        status.update(
            provisioning_state=ProvisioningState.FAILED,
            failed_template=inst.template,
            error={"code": code, "message": message},
        )
        dep.status = status
        self.store.set_deployment_status(dep.endpoint, dep.name, status)

    # -- probes ----------------------------------------------------------------------------------

    def _launch_probes(self, dep: DeploymentRecord, instances: list[InstanceRecord]) -> None:
        now = self.clock()
        liveness = dep.spec.get("liveness_probe") or {}
        readiness = dep.spec.get("readiness_probe") or {}
        for inst in instances:
            if inst.state not in LIVE_INSTANCE_STATES or not inst.url:
                continue
            probes = self._probes.setdefault(inst.id, _Probes())
            if probes.task is not None:
                continue
            kinds: list[str] = []
            if inst.state == InstanceState.STARTING:
                kinds.append("startup")  # polled every pass: ready as soon as init() is done
            elif now >= probes.next_readiness:
                kinds.append("readiness")
            seen = self._seen.get(inst.id)
            started = seen.runtime_started if seen is not None else None
            if started is not None and now >= max(
                probes.next_liveness, started + int(liveness.get("initial_delay", 10))
            ):
                kinds.append("liveness")
            if not kinds:
                continue
            timeout = float(min(int(liveness.get("timeout", 2)), int(readiness.get("timeout", 2))))
            if kinds == ["startup"]:
                timeout = 1.0
            probes.kinds = tuple(kinds)
            probes.task = asyncio.ensure_future(self.prober.probe(inst.url, timeout))

    def _collect_probes(self, dep: DeploymentRecord, instances: list[InstanceRecord]) -> None:
        now = self.clock()
        liveness = dep.spec.get("liveness_probe") or {}
        readiness = dep.spec.get("readiness_probe") or {}
        for inst in instances:
            probes = self._probes.get(inst.id)
            if probes is None or probes.task is None or not probes.task.done():
                continue
            task, probes.task = probes.task, None
            try:
                ok, detail = task.result()
            except Exception as exc:  # a prober bug must not stop the loop
                ok, detail = False, repr(exc)
            if inst.state not in LIVE_INSTANCE_STATES:
                continue
            if "startup" in probes.kinds and ok:
                self._set_state(inst, InstanceState.READY, ready_at=now)
                self._event(inst, "Ready", f"Instance {inst.id} is ready")
                probes.next_readiness = now + int(readiness.get("period", 10))
            if "readiness" in probes.kinds:
                probes.next_readiness = now + int(readiness.get("period", 10))
                self._readiness_result(inst, probes, ok, detail, readiness)
            if "liveness" in probes.kinds:
                probes.next_liveness = now + int(liveness.get("period", 10))
                self._liveness_result(dep, inst, probes, ok, detail, liveness)

    def _readiness_result(
        self, inst: InstanceRecord, probes: _Probes, ok: bool, detail: str, settings: dict[str, Any]
    ) -> None:
        if ok:
            probes.ready_failures = 0
            probes.ready_successes += 1
            if inst.state == InstanceState.UNREADY and probes.ready_successes >= int(
                settings.get("success_threshold", 1)
            ):
                self._set_state(inst, InstanceState.READY)
                self._event(inst, "Ready", f"Instance {inst.id} passed its readiness probe again")
            return
        probes.ready_successes = 0
        probes.ready_failures += 1
        self._event(inst, "ReadinessProbeFailed", f"Readiness probe failed: {detail}")
        if inst.state == InstanceState.READY and probes.ready_failures >= int(
            settings.get("failure_threshold", 30)
        ):
            self._set_state(inst, InstanceState.UNREADY)

    def _liveness_result(
        self,
        dep: DeploymentRecord,
        inst: InstanceRecord,
        probes: _Probes,
        ok: bool,
        detail: str,
        settings: dict[str, Any],
    ) -> None:
        if ok:
            probes.live_failures = 0
            return
        probes.live_failures += 1
        self._event(inst, "LivenessProbeFailed", f"Liveness probe failed: {detail}")
        handle = _handle(inst)
        if probes.live_failures >= int(settings.get("failure_threshold", 30)) and handle:
            self._event(
                inst,
                "Killing",
                "Container inference-server failed liveness probe, will be restarted",
            )
            self.backend.kill(handle)
            self._crashed(dep, inst, None, "failed liveness probe")

    # -- stopping --------------------------------------------------------------------------------

    def _drain(self, inst: InstanceRecord, why: str) -> None:
        """Out of the route table now; SIGTERM once the router has dropped it (see _advance_stops)."""
        if inst.state not in LIVE_INSTANCE_STATES:
            return
        if inst.state == InstanceState.STARTING:
            self._stop(inst, why)  # never received traffic: no drain needed
            return
        self._set_state(inst, InstanceState.DRAINING, stop_deadline=self.clock() + DRAIN_S)
        self._event(inst, "Killing", f"Stopping container inference-server of {inst.id}: {why}")

    def _stop(self, inst: InstanceRecord, why: str, grace: float = STOP_GRACE_EXTRA_S) -> None:
        if inst.state == InstanceState.STARTING:
            self._event(inst, "Killing", f"Stopping container inference-server of {inst.id}: {why}")
        self._set_state(inst, InstanceState.STOPPING, stop_deadline=self.clock() + grace)
        self._probes.pop(inst.id, None)
        handle = _handle(inst)
        if handle is not None:
            self.backend.terminate(handle)

    def _advance_stops(self, dep: DeploymentRecord, instances: list[InstanceRecord]) -> None:
        now = self.clock()
        timeout_s = (
            int((dep.spec.get("request_settings") or {}).get("request_timeout_ms", 5000)) / 1000
        )
        for inst in instances:
            if (
                inst.state == InstanceState.DRAINING
                and inst.stop_deadline
                and now >= inst.stop_deadline
            ):
                # In-flight requests finish inside the runtime after SIGTERM, bounded by the timeout.
                self._stop(inst, "drained", grace=timeout_s + STOP_GRACE_EXTRA_S)
            elif (
                inst.state == InstanceState.STOPPING
                and inst.stop_deadline
                and now > inst.stop_deadline
                and inst.handle
            ):
                self.backend.kill(Handle.from_json(inst.handle))

    def _prune_failed(self, instances: list[InstanceRecord]) -> None:
        failed = sorted(
            (i for i in instances if i.state == InstanceState.FAILED), key=lambda i: i.created_at
        )
        for inst in failed[:-KEEP_FAILED_INSTANCES]:
            self._forget(inst, keep_dir=False)

    def _forget(self, inst: InstanceRecord, *, keep_dir: bool | None = None) -> None:
        self.store.delete_instance(inst.id)
        self._probes.pop(inst.id, None)
        self._seen.pop(inst.id, None)
        handle = _handle(inst)
        if handle is not None and not (
            inst.state == InstanceState.FAILED if keep_dir is None else keep_dir
        ):
            self.backend.discard(handle)

    def _remove_deployment(self, dep: DeploymentRecord) -> None:
        for inst in self.store.list_instances(dep.endpoint, dep.name):
            self._forget(inst, keep_dir=False)
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

    async def stop_all(self, timeout: float = 10.0) -> int:
        """Drain and stop every instance (``switchman down``); returns how many were stopped.

        It waits for a pass in progress to end and keeps the reconciler paused, so nothing starts
        behind its back; then the backend sweeps whatever it still runs for this platform
        (instances still starting included), known to the store or not.
        """
        self.paused = True
        async with self._pass_lock:
            instances = [i for i in self.store.list_instances() if i.state != InstanceState.FAILED]
            for inst in instances:
                if inst.state in LIVE_INSTANCE_STATES:
                    self._set_state(inst, InstanceState.DRAINING, stop_deadline=self.clock())
            self.publisher.publish()  # out of the route table before they are stopped
            await asyncio.sleep(0.3)  # the router reloads within 100 ms
            handles = {i.id: h for i in instances if (h := _handle(i)) is not None}
            for handle in handles.values():
                self.backend.terminate(handle)
            deadline = time.monotonic() + timeout
            pending = list(handles.values())
            while pending and time.monotonic() < deadline:
                pending = [
                    h for h in pending if self.backend.observe(h).liveness == Liveness.RUNNING
                ]
                if pending:
                    await asyncio.sleep(0.05)
            for handle in pending:
                self.backend.kill(handle)
            for inst in instances:
                self.store.delete_instance(inst.id)  # folders stay: their logs explain the end
            extra = await asyncio.to_thread(self.backend.sweep)
        return len(instances) + extra


def _handle(inst: InstanceRecord) -> Handle | None:
    return Handle.from_json(inst.handle) if inst.handle else None
