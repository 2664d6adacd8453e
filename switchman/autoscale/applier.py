"""The autoscale applier: an owned task in the control plane that applies the policy's decisions.

Every ``interval`` (1 s; at once after a settings change or a wake call) it reads each setting,
samples CPU/memory of the target's instances through the compute backend, reads the rules'
metric windows, calls :func:`switchman.autoscale.policy.decide`, and — when the count changes —
sets the deployment's desired ``instance_count`` (the reconciler starts or drains instances; a
scale-in drains, so no request fails), capped by the vCPU quota. Each change is an event
(``monitor events -e EP``) and a row of the setting's history (``autoscale show``).

It also marks deployments that may sit at zero in the route table (``scale_to_zero``) and
publishes where the router sends wake calls (``wake``: a loopback URL and a token minted per
control-plane run).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Callable
from typing import Any

import psutil
from fastapi import FastAPI

from switchman.autoscale import setting as S
from switchman.autoscale.metricsource import MetricSource
from switchman.autoscale.policy import Decision, Inputs, decide
from switchman.autoscale.table import AutoscaleTable
from switchman.compute.backend import Handle
from switchman.controlplane.platform import Platform
from switchman.controlplane.quota import check_quota, default_quota
from switchman.controlplane.store import DeploymentRecord, connect
from switchman.errors import OutOfQuotaError
from switchman.status import InstanceState, ProvisioningState

logger = logging.getLogger(__name__)

PENDING_TTL_S = 30.0  # a wake call counts this long (the router repeats it every second)


class Autoscaler:
    """Applies autoscale settings; owns one asyncio task (:meth:`start` / :meth:`stop`)."""

    def __init__(
        self,
        platform: Platform,
        api_port: int,
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.platform = platform
        self.store = platform.store
        self.table = AutoscaleTable(platform.store)
        self.interval = interval
        self.clock = clock
        self.wake_token = secrets.token_urlsafe(24)
        self.wake_url = f"http://127.0.0.1:{api_port}/api/autoscale/wake"
        self.source = MetricSource(connect(platform.home.db_path))
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[tuple[str, str], tuple[int, float]] = {}
        self._waking: dict[tuple[str, str], float] = {}  # woken from zero at (for ColdStart)
        self._zero: set[tuple[str, str]] = set()
        platform.publisher.decorators.append(self.decorate)

    # -- wiring ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._refresh_zero()
        self._task = asyncio.get_running_loop().create_task(self.run(), name="autoscaler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel("control plane shutting down")
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def kick(self) -> None:
        self._kick.set()

    def wake(self, endpoint: str, deployment: str, held: int) -> dict[str, Any]:
        self._pending[(endpoint, deployment)] = (max(1, held), self.clock())
        self.kick()
        return {"accepted": True}

    def decorate(self, table: dict[str, Any]) -> None:
        """Route-table hook: where to wake, and which deployments may be at zero."""
        table["wake"] = {"url": self.wake_url, "token": self.wake_token}
        for ep, dep in self._zero:
            route = table.get("endpoints", {}).get(ep, {}).get("deployments", {}).get(dep)
            if route is not None:
                route["scale_to_zero"] = True

    # -- the loop --------------------------------------------------------------------------------
    async def run(self) -> None:
        """Evaluate forever; a failing pass is logged and the next one runs (never dies)."""
        while True:
            try:
                self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("autoscale pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.interval)
            self._kick.clear()

    def tick(self) -> None:
        now = self.clock()
        for key, (_, at) in list(self._pending.items()):
            if now - at > PENDING_TTL_S:
                del self._pending[key]
        for doc in self.table.all():
            try:
                self._evaluate(doc, now)
            except Exception:
                logger.exception("autoscale setting %s could not be evaluated", doc.get("name"))
        self._refresh_zero()

    def _refresh_zero(self) -> None:
        zero: set[tuple[str, str]] = set()
        for doc in self.table.all():
            st = S.parse(doc)
            if st.enabled and st.target.deployment and any(p.minimum == 0 for p in st.profiles):
                zero.add((st.target.endpoint, st.target.deployment))
        if zero != self._zero:
            self._zero = zero
            self.platform.publisher.publish()

    def _evaluate(self, doc: dict[str, Any], now: float) -> None:
        st = S.parse(doc)
        ep, name = st.target.endpoint, st.target.deployment or ""
        dep = self.store.find_deployment(ep, name)
        if dep is None or dep.status.get("provisioning_state") == ProvisioningState.DELETING:
            return
        current = int(dep.spec.get("instance_count", 1))
        template = dep.resolved.get("template")
        ready = [
            i
            for i in self.store.list_instances(ep, name)
            if i.state == InstanceState.READY and i.template == template
        ]
        self._sample_usage(ep, dep, ready, now)
        self._cold_start_event(ep, name, len(ready), now)
        windows = {
            rule.key: self.source.samples(rule, now) for p in st.profiles for rule in p.rules
        }
        pending = self._pending.get((ep, name), (0, 0.0))[0] if current == 0 else 0
        if current > 0:
            self._pending.pop((ep, name), None)
        state = self.table.state(st.name)
        decision = decide(
            st,
            Inputs(current, len(ready), windows, self.source.last_activity(ep, name), pending),
            now,
            state,
        )
        if decision.count != current:
            applied = self._apply(st.name, dep, current, decision)
            if applied is None:
                return  # quota: keep the old state so the rule fires again later
        if decision.state != state:
            self.table.set_state(st.name, decision.state)

    def _sample_usage(self, ep: str, dep: DeploymentRecord, ready: list[Any], now: float) -> None:
        cores = max(1, psutil.cpu_count() or 1)
        limit = float(dep.resolved.get("memory_limit_mib") or 0) or (
            psutil.virtual_memory().total / (1024 * 1024)
        )
        rows = []
        for inst in ready:
            if not inst.handle:
                continue
            use = self.platform.backend.usage(Handle.from_json(inst.handle))
            if use is None:
                continue
            dims = {"instanceId": inst.id}
            if use.cpu_percent is not None:
                cpu = use.cpu_percent / cores  # psutil counts per core; Azure's is of the machine
                rows.append((now, ep, dep.name, inst.id, "CpuUtilizationPercentage", dims, cpu))
            if use.memory_mib is not None:
                memory = 100.0 * use.memory_mib / limit
                rows.append(
                    (now, ep, dep.name, inst.id, "CpuMemoryUtilizationPercentage", dims, memory)
                )
        self.source.write(rows)

    def _cold_start_event(self, ep: str, dep: str, ready: int, now: float) -> None:
        woke = self._waking.get((ep, dep))
        if woke is not None and ready > 0:
            del self._waking[(ep, dep)]
            self.store.add_event(
                "ColdStart",
                f"Deployment {dep} woke from zero: first instance ready {now - woke:.2f}s after "
                "the wake request",
                endpoint=ep,
                deployment=dep,
            )

    def _apply(
        self, setting_name: str, dep: DeploymentRecord, old: int, decision: Decision
    ) -> int | None:
        new = decision.count
        if new > old:
            others = [
                (d.spec.get("instance_type"), int(d.spec.get("instance_count", 1)))
                for d in self.store.list_deployments()
                if (d.endpoint, d.name) != (dep.endpoint, dep.name)
                and d.status.get("provisioning_state") != ProvisioningState.DELETING
            ]
            allowed = old
            for count in range(new, old, -1):
                try:
                    check_quota(
                        dep.name, dep.spec.get("instance_type"), count, others, default_quota()
                    )
                except OutOfQuotaError:
                    continue
                allowed = count
                break
            if allowed == old:
                self.store.add_event(
                    "AutoscaleQuotaLimited",
                    f"Autoscale setting {setting_name} wanted {new} instances of {dep.name} but "
                    "the vCPU quota allows no more; raise it with `switchman up --quota-vcpus N`.",
                    endpoint=dep.endpoint,
                    deployment=dep.name,
                )
                return None
            new = allowed
        spec = {**dep.spec, "instance_count": new}
        self.store.update_deployment_spec(dep.endpoint, dep.name, spec, dep.resolved)
        if old == 0 and new > 0:
            self._waking[(dep.endpoint, dep.name)] = self.clock()
        direction = "AutoscaleScaleOut" if new > old else "AutoscaleScaleIn"
        metric = (
            f"; {decision.metric} = {decision.value:.3g}"
            if decision.metric and decision.value is not None
            else ""
        )
        self.store.add_event(
            direction,
            f"Autoscale setting {setting_name} (profile {decision.profile}): {old} → {new} "
            f"instances: {decision.reason}{metric}",
            endpoint=dep.endpoint,
            deployment=dep.name,
        )
        self.table.record(
            setting_name,
            dep.endpoint,
            dep.name,
            old,
            new,
            decision.profile,
            decision.rule,
            decision.metric,
            decision.value,
            decision.reason,
        )
        logger.info(
            "autoscale %s: %s/%s %d → %d (%s)",
            setting_name,
            dep.endpoint,
            dep.name,
            old,
            new,
            decision.reason,
        )
        return new


def install(app: FastAPI, platform: Platform, api_port: int) -> Autoscaler:
    """Composition-root hook: the applier, its wake route, and its place on ``app.state``."""
    from switchman.controlplane.api_autoscale import wake_router

    interval = float(os.environ.get("SWITCHMAN_AUTOSCALE_INTERVAL", "1.0"))
    autoscaler = Autoscaler(platform, api_port, interval=interval)
    app.state.autoscaler = autoscaler
    app.include_router(wake_router)
    return autoscaler
