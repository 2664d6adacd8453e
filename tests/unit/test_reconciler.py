"""The reconciler against a fake compute backend, a fake prober and a fake clock."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from switchman.compute.backend import ComputeBackend, Handle, LaunchSpec, Liveness, Observation
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

    def start(self, spec: LaunchSpec) -> Handle:
        self.next_pid += 1
        self.started.append(spec)
        return Handle(self.next_pid, 1.0)

    def observe(self, handle: Handle) -> Observation:
        if handle.pid in self.exited:
            return Observation(Liveness.EXITED, self.exited[handle.pid])
        return Observation(Liveness.RUNNING)

    def terminate(self, handle: Handle) -> None:
        self.terminated.append(handle.pid)
        self.exited[handle.pid] = 0  # exits at once on SIGTERM

    def kill(self, handle: Handle) -> None:
        self.killed.append(handle.pid)
        self.exited[handle.pid] = -9

    def read_log(self, instance_dir: str, container: str, lines: int) -> str:
        return "log line"


@dataclass
class FakeProber:
    ready_urls: set[str] = field(default_factory=set)
    all_ready: bool = True

    async def ready(self, url: str, timeout: float) -> bool:
        return self.all_ready or url in self.ready_urls


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


def step(reconciler: Reconciler) -> None:
    asyncio.run(reconciler.step())


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
    assert old_pid in backend.terminated
    step(reconciler)
    assert store.get_deployment("ep1", "blue").status["provisioning_state"] == "Succeeded"


def test_startup_failure_with_status_file_fails_the_deployment(world) -> None:
    reconciler, store, backend, prober, _ = world
    prober.all_ready = False
    add_deployment(store, count=1)
    step(reconciler)
    inst = store.list_instances()[0]
    Path(inst.dir).mkdir(parents=True, exist_ok=True)
    (Path(inst.dir) / "status.json").write_text(
        json.dumps({"code": "UserScriptInitFailed", "message": "ValueError: boom"})
    )
    backend.exited[inst.pid] = 3  # type: ignore[index]
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
    for attempt in range(1, MAX_STARTUP_CRASHES + 1):
        backend.exited[backend.next_pid] = 1
        step(reconciler)
        if attempt < MAX_STARTUP_CRASHES:
            assert len(backend.started) == attempt  # backing off: no immediate restart
            clock.now += 2**attempt
            step(reconciler)
            assert len(backend.started) == attempt + 1
    status = store.get_deployment("ep1", "blue").status
    assert status["provisioning_state"] == "Failed"
    assert status["error"]["code"] == "ResourceNotReady"


def test_crash_after_ready_restarts(world) -> None:
    reconciler, store, backend, _, _ = world
    add_deployment(store, count=1)
    step(reconciler)
    step(reconciler)
    backend.exited[backend.next_pid] = -9
    step(reconciler)  # observed dead; back-off of 1 s before the replacement
    reconciler.clock.now += 1.5  # type: ignore[attr-defined]
    step(reconciler)
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
