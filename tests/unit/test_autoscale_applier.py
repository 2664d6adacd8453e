"""The applier with a real store, a fake compute backend and a fake clock: decisions become the
deployment's desired instance_count, events and history; quota caps a scale-out."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from switchman.autoscale.applier import Autoscaler
from switchman.autoscale.registry import AutoscaleRegistry
from switchman.compute.backend import ComputeBackend
from switchman.controlplane.platform import Platform
from switchman.controlplane.service import Addresses
from switchman.home import Home

DEP = "/switchman/onlineEndpoints/ep-1/deployments/blue"


def _none(*_: Any, **__: Any) -> None:
    return None


FakeBackend = type(
    "FakeBackend",
    (ComputeBackend,),
    {"name": "fake", **{m: _none for m in ComputeBackend.__abstractmethods__}},
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(tmp_path: Path) -> tuple[Platform, Autoscaler, AutoscaleRegistry, Clock]:
    platform = Platform.create(Home(tmp_path / "home"), Addresses(router_port=1), FakeBackend())
    platform.service.create_endpoint({"name": "ep-1"})
    platform.store.insert_deployment(
        "ep-1",
        "blue",
        {"name": "blue", "instance_type": "Standard_DS2_v2", "instance_count": 1},
        {"template": "t1"},
        {"provisioning_state": "Succeeded"},
    )
    clock = Clock()
    applier = Autoscaler(platform, 1, clock=clock)
    registry = AutoscaleRegistry(platform.store, applier.table)
    return platform, applier, registry, clock


def load(applier: Autoscaler, clock: Clock, per_instance: float, seconds: int = 5) -> None:
    applier.source.write(
        [
            (
                clock.now - i,
                "ep-1",
                "blue",
                "",
                "ConcurrentRequestsPerInstance",
                {"deployment": "blue"},
                per_instance,
            )
            for i in range(seconds)
        ]
    )


def count(platform: Platform) -> int:
    return int(platform.store.get_deployment("ep-1", "blue").spec["instance_count"])


def test_target_rule_scales_out_within_quota_and_records_why(
    world: tuple[Platform, Autoscaler, AutoscaleRegistry, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    platform, applier, registry, clock = world
    registry.create({"name": "sc", "resource": DEP, "min_count": 1, "max_count": 5, "count": 1})
    registry.rule_create(
        "sc",
        {
            "condition": "ConcurrentRequestsPerInstance > 1 avg 5s",
            "scale": ["target"],
            "cooldown": "0",
        },
    )
    # DS2_v2 = 2 vCPUs; 2 instances reserve ceil(2.4) x 2 = 6: a quota of 6 allows 2, not 4.
    monkeypatch.setenv("SWITCHMAN_QUOTA_VCPUS", "6")
    load(applier, clock, 4.0)
    applier.tick()
    assert count(platform) == 2
    events = [e for e in platform.store.list_events("ep-1") if e["name"].startswith("Autoscale")]
    assert events[-1]["name"] == "AutoscaleScaleOut"
    assert (
        "1 → 2" in events[-1]["message"]
        and "ConcurrentRequestsPerInstance = 4" in events[-1]["message"]
    )
    [row] = registry.show("sc")["history"]
    assert (row["oldCount"], row["newCount"], row["ruleIndex"]) == (1, 2, 0)

    monkeypatch.setenv("SWITCHMAN_QUOTA_VCPUS", "4")  # now not even the 2 running fit more
    clock.now += 10
    load(applier, clock, 4.0)
    applier.tick()
    assert count(platform) == 2
    assert platform.store.list_events("ep-1")[-1]["name"] == "AutoscaleQuotaLimited"


def test_disabled_setting_keeps_the_count_and_state_survives_a_new_applier(
    world: tuple[Platform, Autoscaler, AutoscaleRegistry, Clock],
) -> None:
    platform, applier, registry, clock = world
    registry.create({"name": "sc", "resource": DEP, "min_count": 1, "max_count": 5, "count": 1})
    registry.rule_create(
        "sc",
        {
            "condition": "ConcurrentRequestsPerInstance > 1 avg 5s",
            "scale": ["out", "1"],
            "cooldown": "1",
        },
    )
    registry.update("sc", {"enabled": "false"})
    load(applier, clock, 9.0)
    applier.tick()
    assert count(platform) == 1
    registry.update("sc", {"enabled": "true"})
    applier.tick()
    assert count(platform) == 2
    # a restarted control plane reads the rule's cooldown from the table: no second step yet
    again = Autoscaler(platform, 1, clock=clock)
    clock.now += 30
    load(again, clock, 9.0)
    again.tick()
    assert count(platform) == 2
    clock.now += 31
    load(again, clock, 9.0)
    again.tick()
    assert count(platform) == 3


def test_scale_to_zero_marks_the_route_table_and_a_wake_brings_one_back(
    world: tuple[Platform, Autoscaler, AutoscaleRegistry, Clock],
) -> None:
    platform, applier, registry, clock = world
    registry.create(
        {
            "name": "z",
            "resource": DEP,
            "min_count": 0,
            "max_count": 2,
            "count": 1,
            "idle_window": "10s",
        }
    )
    applier.tick()
    assert count(platform) == 1
    table: dict[str, Any] = {"endpoints": {"ep-1": {"deployments": {"blue": {}}}}}
    applier.decorate(table)
    assert table["endpoints"]["ep-1"]["deployments"]["blue"]["scale_to_zero"] is True
    assert table["wake"]["token"] == applier.wake_token
    clock.now += 11
    applier.tick()
    assert count(platform) == 0
    assert applier.wake("ep-1", "blue", 2) == {"accepted": True}
    applier.tick()
    assert count(platform) == 1
    reasons = [r["reason"] for r in registry.show("z")["history"]]
    assert "idle" in reasons[0] and "held" in reasons[1]
    asyncio.run(applier.stop())
