"""Rollout gates, the state machine and the driver's restart behaviour, on a fake clock."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from switchman.controlplane.platform import Platform
from switchman.controlplane.rollout import RolloutDriver
from switchman.controlplane.service import Addresses
from switchman.controlplane.store import InstanceRecord
from switchman.dataplane.store import TRAFFIC_COLUMNS, ensure_schema
from switchman.errors import BadArgumentError, ConflictError, NotFoundError
from switchman.home import Home
from switchman.rollout.gate import Gates, Observation, is_error, p99, verdict
from switchman.rollout.plan import PlanError, RolloutState, decide, split
from switchman.spec.rollout import RolloutSpec, parse_duration
from switchman.status import ProvisioningState

GATES = Gates(max_error_rate=1.0, max_p99_ms=200.0, min_agreement=None, min_requests=10)


def _state(**changes: object) -> RolloutState:
    base = RolloutState(
        endpoint="endp",
        to="green",
        steps=(10, 50, 100),
        bake_s=60.0,
        gates=GATES,
        mirror_percent=50,
        previous_traffic={"blue": 100, "green": 0},
        previous_mirror={},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_split_keeps_the_others_in_proportion() -> None:
    assert split({"blue": 100, "green": 0}, "green", 10) == {"blue": 90, "green": 10}
    assert split({"a": 50, "b": 50, "green": 0}, "green", 25) == {"a": 38, "b": 37, "green": 25}
    assert sum(split({"a": 33, "b": 33, "c": 34}, "green", 10).values()) == 100
    assert split({"blue": 100}, "green", 100) == {"blue": 0, "green": 100}
    with pytest.raises(PlanError, match="no other deployment"):
        split({"green": 0}, "green", 10)


def test_gate_verdicts() -> None:
    assert verdict(GATES, Observation(requests=3), shadow=False).outcome == "wait"
    ok = verdict(GATES, Observation(requests=100, errors=1, p99_ms=150), shadow=False)
    assert ok.outcome == "pass" and "error rate 1.00%" in ok.reason
    errors = verdict(GATES, Observation(requests=100, errors=5, p99_ms=10), shadow=False)
    assert errors.outcome == "fail" and "error rate 5.00% (max 1%)" in errors.reason
    slow = verdict(GATES, Observation(requests=100, p99_ms=250), shadow=False)
    assert slow.outcome == "fail" and "p99 250.0 ms" in slow.reason
    agree = replace(GATES, min_agreement=99.0)
    assert verdict(agree, Observation(requests=50, pairs=4), shadow=True).outcome == "wait"
    low = verdict(agree, Observation(requests=50, pairs=50, agreement=0.9), shadow=True)
    assert low.outcome == "fail" and "agreement 90.00% (min 99%)" in low.reason
    assert (
        verdict(agree, Observation(requests=50, pairs=50, agreement=0.9), shadow=False).outcome
        == "pass"
    )
    assert verdict(Gates(), Observation(), shadow=False).outcome == "pass"
    assert [is_error(s) for s in (200, 400, 408, 424, 429, 500, 503)] == [
        False, False, True, True, False, True, True,
    ]  # fmt: skip
    assert p99([]) is None and p99(range(1, 101)) == 99 and p99([5.0]) == 5.0


def test_a_good_rollout_steps_after_each_bake_on_a_fake_clock() -> None:
    good = Observation(requests=100, errors=0, p99_ms=20)
    waiting = decide(_state(), 0.0, Observation(), target_ready=False)
    assert waiting.state.phase == "waiting" and waiting.traffic is None
    first = decide(_state(), 0.0, Observation(), target_ready=True)
    assert first.state.phase == "step" and first.traffic == {"blue": 90, "green": 10}
    assert first.events[0][0] == "RolloutStep"
    baking = decide(first.state, 59.0, good, target_ready=True)
    assert baking.state.step == 0 and baking.traffic is None
    second = decide(baking.state, 60.0, good, target_ready=True)
    assert second.state.step == 1 and second.traffic == {"blue": 50, "green": 50}
    assert [e[0] for e in second.events] == ["RolloutVerdict", "RolloutStep"]
    third = decide(second.state, 120.0, good, target_ready=True)
    done = decide(third.state, 180.0, good, target_ready=True)
    assert done.state.phase == "succeeded" and done.state.current_percent == 100
    assert decide(done.state, 999.0, good, target_ready=True).state == done.state


def test_a_breach_rolls_back_at_once_and_a_lack_of_data_extends_the_bake() -> None:
    started = decide(_state(), 0.0, Observation(), target_ready=True).state
    breach = decide(started, 5.0, Observation(requests=20, errors=1), target_ready=True)
    assert breach.state.phase == "rolled_back"
    assert breach.traffic == {"blue": 100, "green": 0} and breach.mirror == {}
    assert "step 1 (10%)" in breach.state.reason and "error rate 5.00%" in breach.state.reason
    assert [e[0] for e in breach.events] == ["RolloutVerdict", "RolloutRolledBack"]
    quiet = decide(started, 61.0, Observation(requests=2), target_ready=True)
    assert quiet.state.phase == "step" and quiet.state.step == 0
    assert "2/10 requests" in quiet.state.last_verdict["reason"]
    cancelled = decide(started, 1.0, Observation(), target_ready=True, cancel=True)
    assert cancelled.state.phase == "cancelled" and cancelled.traffic == {"blue": 100, "green": 0}
    gone = decide(started, 1.0, Observation(), target_ready=False, target_exists=False)
    assert gone.state.phase == "rolled_back"


def test_the_agreement_gate_adds_a_shadow_step_first() -> None:
    state = _state(gates=replace(GATES, min_agreement=99.0), previous_mirror={"old": 10})
    shadow = decide(state, 0.0, Observation(), target_ready=True)
    assert shadow.state.phase == "shadow" and shadow.traffic is None
    assert shadow.mirror == {"old": 0, "green": 50}
    agree = Observation(requests=50, pairs=50, agreement=1.0)
    live = decide(shadow.state, 60.0, agree, target_ready=True)
    assert live.state.phase == "step" and live.mirror == {"old": 10}
    differ = decide(shadow.state, 3.0, replace(agree, agreement=0.0), target_ready=True)
    assert differ.state.phase == "rolled_back" and differ.mirror == {"old": 10}
    assert "the shadow step" in differ.state.reason


def test_rollout_spec_parsing() -> None:
    spec = RolloutSpec.model_validate({"to": "green", "steps": "10, 25,100", "bake": "2m"})
    assert spec.steps == [10, 25, 100] and spec.bake == 120.0
    assert parse_duration("500ms") == 0.5 and parse_duration(30) == 30.0
    for bad in ({"steps": "50,10"}, {"steps": [0, 100]}, {"bake": "soon"}, {"steps": "a,b"}):
        with pytest.raises(ValidationError):
            RolloutSpec.model_validate({"to": "green", **bad})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _platform(home: Home) -> Platform:
    return Platform.create(home, Addresses(router_port=1))


def _seed(platform: Platform) -> None:
    store = platform.store
    store.insert_endpoint(
        "endp", {"name": "endp", "traffic": {"blue": 100}}, {"provisioning_state": "Succeeded"},
        local=False, secrets=b"",
    )  # fmt: skip
    for name in ("blue", "green"):
        store.insert_deployment(
            "endp", name, {"name": name}, {"template": "t"},
            {"provisioning_state": ProvisioningState.SUCCEEDED},
        )  # fmt: skip
        store.upsert_instance(
            InstanceRecord(f"{name}-1", "endp", name, "t", "Ready", "/nonexistent", 0.0)
        )


def _traffic(home: Home, at: float, status: int, count: int) -> None:
    conn = sqlite3.connect(home.db_path)
    ensure_schema(conn)
    row = dict.fromkeys(TRAFFIC_COLUMNS)
    row.update(time=at, EndpointName="endp", DeploymentName="green", ResponseCode=status,
               TotalDurationMs=5.0)  # fmt: skip
    conn.executemany(
        f"INSERT INTO traffic_log VALUES ({', '.join('?' * len(TRAFFIC_COLUMNS))})",
        [tuple(row[c] for c in TRAFFIC_COLUMNS)] * count,
    )
    conn.commit()
    conn.close()


def test_the_driver_resumes_after_a_restart_and_a_rollback_stays(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    clock = FakeClock()
    first = _platform(home)
    _seed(first)
    driver = RolloutDriver(home, first.store, first.service, first.publisher, clock=clock)
    spec = RolloutSpec(to="green", steps=[10, 100], bake=60, max_error_rate=1, min_requests=5)
    driver.start("endp", spec)
    with pytest.raises(ConflictError):
        driver.start("endp", spec)
    driver.step()
    assert first.store.get_endpoint("endp").spec["traffic"] == {"blue": 90, "green": 10}
    _traffic(home, clock.now + 1, 200, 20)
    first.store.close()

    clock.now += 61  # the control plane was down past the end of the bake
    second = _platform(home)
    resumed = RolloutDriver(home, second.store, second.service, second.publisher, clock=clock)
    resumed.step()
    state = resumed.book.get("endp")
    assert state is not None and state[0].phase == "step" and state[0].step == 1
    assert second.store.get_endpoint("endp").spec["traffic"] == {"blue": 0, "green": 100}
    _traffic(home, clock.now + 1, 500, 10)
    clock.now += 2
    resumed.step()
    assert resumed.book.get("endp")[0].phase == "rolled_back"  # type: ignore[index]
    assert second.store.get_endpoint("endp").spec["traffic"] == {"blue": 100}  # as before
    second.store.close()

    clock.now += 600
    third = _platform(home)
    again = RolloutDriver(home, third.store, third.service, third.publisher, clock=clock)
    again.step()
    assert again.book.get("endp")[0].phase == "rolled_back"  # type: ignore[index]
    assert third.store.get_endpoint("endp").spec["traffic"] == {"blue": 100}
    names = [e["name"] for e in third.store.list_events("endp")]
    assert names.count("RolloutStep") == 2 and "RolloutRolledBack" in names
    with pytest.raises(NotFoundError, match="no deployment 'red'"):
        again.start("endp", RolloutSpec(to="red", steps=[100], bake=1))
    with pytest.raises(BadArgumentError, match="already has 100%"):
        again.start("endp", RolloutSpec(to="blue", steps=[50, 100], bake=1))
    third.store.close()


def test_a_declared_rollout_starts_once(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    clock = FakeClock()
    platform = _platform(home)
    _seed(platform)
    driver = RolloutDriver(home, platform.store, platform.service, platform.publisher, clock=clock)
    declared = {"to": "green", "steps": [100], "bake": 1, "min_requests": 1}
    spec = {**platform.store.get_endpoint("endp").spec, "rollout": declared}
    platform.service.update_endpoint("endp", spec)
    driver.step()  # starts it
    driver.step()  # first step: 100%
    state = driver.book.get("endp")
    assert state is not None and state[0].origin == "spec" and state[0].current_percent == 100
    clock.now += 2
    driver.step()
    assert driver.book.get("endp")[0].phase == "succeeded"  # type: ignore[index]
    driver.step()  # the same declaration does not start again
    assert driver.book.get("endp")[0].phase == "succeeded"  # type: ignore[index]
    platform.store.close()
