"""The reconciler against a fake compute backend, a fake prober and a fake clock."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from switchman.compute.backend import (
    ComputeBackend,
    Handle,
    LaunchSpec,
    Liveness,
    LogChunk,
    Observation,
    Usage,
)
from switchman.controlplane.reconciler import MAX_STARTUP_CRASHES, Reconciler
from switchman.controlplane.routes import RoutePublisher
from switchman.controlplane.secrets import Vault
from switchman.controlplane.store import Store
from switchman.home import Home


@dataclass
class FakeBackend(ComputeBackend):
    name: str = "fake"
    started: list[LaunchSpec] = field(default_factory=list)
    exited: dict[int, int] = field(default_factory=dict)
    terminated: list[int] = field(default_factory=list)
    killed: list[int] = field(default_factory=list)
    next_pid: int = 1000
    memory: dict[int, float] = field(default_factory=dict)
    failures: dict[int, dict[str, str]] = field(default_factory=dict)
    swept: int = 0

    def start_worker(self, spec: object) -> Handle:  # batch workers: not used by these tests
        raise NotImplementedError

    def start(self, spec: LaunchSpec) -> Handle:
        self.next_pid += 1
        self.started.append(spec)
        # Opaque to the reconciler: it must only store it and hand it back.
        return Handle("fake", f"i{self.next_pid}", {"pid": self.next_pid})

    def observe(self, handle: Handle) -> Observation:
        assert handle.pid is not None
        # The backend, not the control plane, says where the instance listens.
        address = f"10.0.0.{handle.pid % 250}:{handle.pid}"
        if handle.pid in self.exited:
            return Observation(
                Liveness.EXITED,
                self.exited[handle.pid],
                address=address,
                failure=self.failures.get(handle.pid),
            )
        return Observation(Liveness.RUNNING, address=address, runtime_started=0.0)

    def terminate(self, handle: Handle) -> None:
        self.terminated.append(handle.pid)
        self.exited[handle.pid] = 0  # exits at once on SIGTERM

    def kill(self, handle: Handle) -> None:
        self.killed.append(handle.pid)
        self.exited[handle.pid] = -9

    def read_log(self, handle: Handle, container: str, lines: int) -> str:
        return "log line"

    def usage(self, handle: Handle) -> Usage | None:
        assert handle.pid is not None
        return Usage(cpu_percent=1.0, memory_mib=self.memory.get(handle.pid, 50.0))

    def log_chunk(
        self, handle: Handle, container: str, offset: int | None, limit: int
    ) -> LogChunk | None:
        return None

    def discard(self, handle: Handle) -> None:
        pass

    def sweep(self) -> int:
        self.swept += 1
        return 0


@dataclass
class FakeProber:
    ready_urls: set[str] = field(default_factory=set)
    all_ready: bool = True

    async def probe(self, url: str, timeout: float) -> tuple[bool, str]:
        ok = self.all_ready or url in self.ready_urls
        return ok, "" if ok else "connection refused"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(tmp_path: Path) -> tuple[Reconciler, Store, FakeBackend, FakeProber, Clock]:
    home = Home(tmp_path)
    home.ensure()
    store = Store(home.db_path)
    vault = Vault(home)
    backend = FakeBackend()
    prober = FakeProber()
    clock = Clock()
    store.insert_endpoint(
        "ep1",
        {"name": "ep1", "traffic": {}},
        {"provisioning_state": "Succeeded"},
        local=False,
        secrets=vault.seal({"primaryKey": "k1", "secondaryKey": "k2"}),
    )
    reconciler = Reconciler(
        home, store, backend, RoutePublisher(home, store, vault), prober=prober, clock=clock
    )
    return reconciler, store, backend, prober, clock


def add_deployment(store: Store, count: int = 2, template: str = "t1") -> None:
    store.insert_deployment(
        "ep1",
        "blue",
        {"name": "blue", "instance_count": count},
        {"template": template, "environment_variables": {}, "worker_count": 1},
        {"provisioning_state": "Creating"},
    )


_LOOP = asyncio.new_event_loop()


def step(reconciler: Reconciler) -> None:
    """A few passes with the loop turning in between, so probes launched are also collected."""
    for _ in range(3):
        _LOOP.run_until_complete(reconciler.step())
        _LOOP.run_until_complete(asyncio.sleep(0))


def test_creates_instances_and_succeeds_when_ready(world) -> None:
    reconciler, store, backend, prober, _ = world
    prober.all_ready = False
    add_deployment(store, count=2)
    step(reconciler)
    assert len(backend.started) == 2
    assert store.get_deployment("ep1", "blue").status["provisioning_state"] == "Creating"
    prober.all_ready = True
    step(reconciler)
    assert store.get_deployment("ep1", "blue").status["provisioning_state"] == "Succeeded"
    routes = json.loads(reconciler.home.routes_file.read_text())
    assert len(routes["endpoints"]["ep1"]["deployments"]["blue"]["instances"]) == 2
    step(reconciler)
    assert len(backend.started) == 2  # idempotent: nothing more to do


def test_scale_in_stops_the_extra_instances(world) -> None:
    reconciler, store, backend, _, _ = world
    add_deployment(store, count=3)
    step(reconciler)
    step(reconciler)
    dep = store.get_deployment("ep1", "blue")
    store.update_deployment_spec("ep1", "blue", {**dep.spec, "instance_count": 1}, dep.resolved)
    step(reconciler)
    assert backend.terminated == []  # draining first: out of the route table
    reconciler.clock.now += 2  # type: ignore[attr-defined]  # past the drain period
    step(reconciler)
    assert len(backend.terminated) == 2
    step(reconciler)
    assert len([i for i in store.list_instances() if i.state == "Ready"]) == 1
    assert len(backend.started) == 3  # no restart for a scale-in


def test_template_change_replaces_instances_after_new_ones_are_ready(world) -> None:
    reconciler, store, backend, prober, _ = world
    add_deployment(store, count=1)
    step(reconciler)
    step(reconciler)
    old_pid = store.list_instances()[0].pid
    dep = store.get_deployment("ep1", "blue")
    store.update_deployment_spec("ep1", "blue", dep.spec, {**dep.resolved, "template": "t2"})
    store.set_deployment_status("ep1", "blue", {"provisioning_state": "Updating"})
    prober.all_ready = False
    step(reconciler)
    assert len(backend.started) == 2
    assert old_pid not in backend.terminated  # the old one serves until the new one is ready
    prober.all_ready = True
    step(reconciler)
    assert old_pid not in backend.terminated  # draining: out of the routes first
    reconciler.clock.now += 2  # type: ignore[attr-defined]
    step(reconciler)
    assert old_pid in backend.terminated
    step(reconciler)
    assert store.get_deployment("ep1", "blue").status["provisioning_state"] == "Succeeded"


def test_startup_failure_with_status_file_fails_the_deployment(world) -> None:
    reconciler, store, backend, prober, _ = world
    prober.all_ready = False
    add_deployment(store, count=1)
    step(reconciler)
    inst = store.list_instances()[0]
    assert inst.pid is not None
    backend.failures[inst.pid] = {"code": "UserScriptInitFailed", "message": "ValueError: boom"}
    backend.exited[inst.pid] = 3
    step(reconciler)
    status = store.get_deployment("ep1", "blue").status
    assert status["provisioning_state"] == "Failed"
    assert status["error"] == {
        "code": "UserScriptInitFailed",
        "message": "UserScriptInitFailed: ValueError: boom",
    }
    step(reconciler)
    assert len(backend.started) == 1  # no restart loop for a script that cannot start


def test_crashes_back_off_then_fail_during_creation(world) -> None:
    reconciler, store, backend, prober, clock = world
    prober.all_ready = False
    add_deployment(store, count=1)
    step(reconciler)
    backend.exited[backend.next_pid] = 1
    step(reconciler)
    assert len(backend.started) == 2  # the first replacement starts at once
    backend.exited[backend.next_pid] = 1
    step(reconciler)
    assert len(backend.started) == 2  # the second one backs off
    clock.now += 1.5
    step(reconciler)
    assert len(backend.started) == 3
    assert MAX_STARTUP_CRASHES == 3
    backend.exited[backend.next_pid] = 1
    step(reconciler)
    status = store.get_deployment("ep1", "blue").status
    assert status["provisioning_state"] == "Failed"
    assert status["error"]["code"] == "ResourceNotReady"


def test_crash_after_ready_restarts(world) -> None:
    reconciler, store, backend, _, _ = world
    add_deployment(store, count=1)
    step(reconciler)
    step(reconciler)
    backend.exited[backend.next_pid] = -9
    step(reconciler)  # observed dead; the first replacement starts at once
    assert len(backend.started) == 2
    step(reconciler)
    assert store.get_deployment("ep1", "blue").status["provisioning_state"] == "Succeeded"


def test_deleting_stops_everything_and_removes_rows(world) -> None:
    reconciler, store, backend, _, _ = world
    add_deployment(store, count=2)
    step(reconciler)
    step(reconciler)
    store.set_deployment_status("ep1", "blue", {"provisioning_state": "Deleting"})
    store.set_endpoint_status("ep1", {"provisioning_state": "Deleting"})
    step(reconciler)
    reconciler.clock.now += 2  # type: ignore[attr-defined]
    step(reconciler)
    step(reconciler)
    assert store.find_deployment("ep1", "blue") is None
    assert store.find_endpoint("ep1") is None
    assert len(backend.terminated) == 2


def test_route_version_only_grows_and_only_on_change(world) -> None:
    reconciler, store, _, _, _ = world
    step(reconciler)
    first = reconciler.publisher.version
    step(reconciler)
    assert reconciler.publisher.version == first
    add_deployment(store, count=1)
    step(reconciler)
    step(reconciler)
    assert reconciler.publisher.version > first


def test_rolling_update_surges_twenty_percent(world) -> None:
    reconciler, store, backend, prober, clock = world
    add_deployment(store, count=5)
    step(reconciler)
    assert len(backend.started) == 5
    dep = store.get_deployment("ep1", "blue")
    store.update_deployment_spec("ep1", "blue", dep.spec, {**dep.resolved, "template": "t2"})
    store.set_deployment_status("ep1", "blue", {**dep.status, "provisioning_state": "Updating"})
    prober.all_ready = False
    _LOOP.run_until_complete(reconciler.step())
    assert len(backend.started) == 6  # ⌈20% of 5⌉ = 1 new instance at a time
    prober.all_ready = True
    max_live = 0
    for _ in range(40):
        step(reconciler)
        clock.now += 1.1
        live = [i for i in store.list_instances() if i.state in ("Starting", "Ready", "Unready")]
        max_live = max(max_live, len(live))
        ready = [i for i in live if i.state == "Ready"]
        assert len(ready) >= 5 or any(i.state == "Starting" for i in live)
    assert max_live <= 6
    assert {i.template for i in store.list_instances() if i.state == "Ready"} == {"t2"}
    assert store.get_deployment("ep1", "blue").status["provisioning_state"] == "Succeeded"


def test_readiness_failures_take_an_instance_out_of_routes(world) -> None:
    reconciler, store, _, prober, clock = world
    store.insert_deployment(
        "ep1",
        "blue",
        {
            "name": "blue",
            "instance_count": 1,
            "readiness_probe": {"period": 1, "failure_threshold": 2},
        },
        {"template": "t1", "environment_variables": {}, "worker_count": 1},
        {"provisioning_state": "Creating"},
    )
    step(reconciler)
    assert store.list_instances()[0].state == "Ready"
    prober.all_ready = False
    for _ in range(3):
        clock.now += 1.1
        step(reconciler)
    assert store.list_instances()[0].state == "Unready"
    routes = json.loads(reconciler.home.routes_file.read_text())
    assert routes["endpoints"]["ep1"]["deployments"]["blue"]["instances"] == []
    names = [e["name"] for e in store.list_events("ep1", "blue")]
    assert "ReadinessProbeFailed" in names
    prober.all_ready = True
    clock.now += 1.1
    step(reconciler)
    assert store.list_instances()[0].state == "Ready"


def test_memory_over_the_sku_limit_is_oom_killed_and_restarted(world) -> None:
    reconciler, store, backend, _, clock = world
    store.insert_deployment(
        "ep1",
        "blue",
        {"name": "blue", "instance_count": 1},
        {"template": "t1", "environment_variables": {}, "worker_count": 1, "memory_limit_mib": 100},
        {"provisioning_state": "Creating"},
    )
    step(reconciler)
    pid = backend.next_pid
    backend.memory[pid] = 250.0
    clock.now += 1
    step(reconciler)
    assert pid in backend.killed
    assert len(backend.started) == 2
    events = store.list_events("ep1", "blue")
    assert any(e["name"] == "OOMKilled" and "100 MiB" in e["message"] for e in events)


def test_an_instance_lost_after_serving_is_replaced_at_once_every_time(world) -> None:
    reconciler, store, backend, _, clock = world
    add_deployment(store, count=1)
    step(reconciler)
    for attempt in range(2, 6):
        clock.now += 4  # served for a while (a lost node, not a crash loop)
        backend.exited[backend.next_pid] = -9
        step(reconciler)
        assert len(backend.started) == attempt


def test_stop_all_waits_for_the_pass_and_nothing_starts_meanwhile(world) -> None:
    reconciler, store, backend, _, _ = world
    add_deployment(store, count=2)
    step(reconciler)
    assert len(backend.started) == 2

    async def down() -> int:
        loop_task = asyncio.ensure_future(reconciler.run(interval=0))
        await asyncio.sleep(0.01)  # passes are running
        try:
            return await reconciler.stop_all(timeout=1.0)
        finally:
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task

    assert _LOOP.run_until_complete(down()) == 2
    # Passes kept turning while it drained, yet none replaced the instances it was stopping.
    assert len(backend.started) == 2
    assert sorted(backend.terminated) == [1001, 1002]
    assert store.list_instances() == []
    assert backend.swept == 1  # and the backend swept whatever the store did not know
