"""The autoscale decision (switchman.autoscale.policy) with a fake clock and fake metric windows."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from switchman.autoscale import setting as S
from switchman.autoscale.policy import Inputs, State, active_profile, decide

DEP = "/switchman/onlineEndpoints/ep/deployments/blue"
T0 = datetime(2026, 12, 2, 12, 0, tzinfo=ZoneInfo("UTC")).timestamp()  # a Wednesday, noon UTC


def setting(
    rules: list[tuple[str, list[str], str]],
    *,
    minimum: int = 1,
    maximum: int = 5,
    count: int = 2,
    extra_profiles: list[dict[str, Any]] | None = None,
    enabled: bool = True,
    idle: str = "60s",
) -> S.Setting:
    doc = S.new_setting(
        "s", DEP, minimum=minimum, maximum=maximum, count=count, enabled=enabled, idle_window=idle
    )
    for condition, scale, cooldown in rules:
        doc["profiles"][0]["rules"].append(
            S.make_rule(condition, scale, resource_uri=DEP, cooldown=cooldown)
        )
    doc["profiles"].extend(extra_profiles or [])
    return S.parse(doc)


def flat(
    st: S.Setting, values: list[float], now: float = T0
) -> dict[str, list[tuple[float, float]]]:
    """Every rule of the default profile sees these per-second samples ending at ``now``."""
    samples = [(now - len(values) + 1 + i, v) for i, v in enumerate(values)]
    return {r.key: samples for p in st.profiles for r in p.rules}


def windows_by_rule(
    st: S.Setting, per_rule: list[list[float]], now: float = T0
) -> dict[str, list[tuple[float, float]]]:
    out = {}
    for rule, values in zip(st.profiles[0].rules, per_rule, strict=True):
        out[rule.key] = [(now - len(values) + 1 + i, v) for i, v in enumerate(values)]
    return out


CPU_OUT = ("CpuUtilizationPercentage > 70 avg 10s", ["out", "2"], "1")
CPU_IN = ("CpuUtilizationPercentage < 25 avg 10s", ["in", "1"], "1")
LAT_IN = ("ConcurrentRequestsPerInstance < 1 avg 10s", ["in", "1"], "1")


def test_scale_out_when_any_out_rule_fires() -> None:
    st = setting([CPU_OUT, CPU_IN])
    d = decide(st, Inputs(2, 2, flat(st, [90] * 10)), T0, State())
    assert d.count == 4 and d.rule == 0 and d.metric == "CpuUtilizationPercentage"
    assert d.value == 90 and "2 → 4" in d.reason
    assert d.state.last_scale == T0 and d.state.rule_fired[st.profiles[0].rules[0].key] == T0


def test_average_over_the_window_only() -> None:
    st = setting([CPU_OUT])
    # 10 s window: old high samples outside it do not count
    samples = {st.profiles[0].rules[0].key: [(T0 - 30, 100.0), (T0 - 5, 50.0), (T0, 60.0)]}
    assert decide(st, Inputs(2, 2, samples), T0, State()).count == 2


def test_no_data_never_fires() -> None:
    st = setting([CPU_OUT, CPU_IN])
    assert decide(st, Inputs(2, 2, {}), T0, State()).count == 2


def test_never_above_max_or_below_min() -> None:
    st = setting([CPU_OUT, CPU_IN], minimum=2, maximum=3)
    assert decide(st, Inputs(2, 2, flat(st, [95] * 10)), T0, State()).count == 3
    assert decide(st, Inputs(2, 2, flat(st, [5] * 10)), T0, State()).count == 2
    # a count outside the bounds is brought back at once
    assert decide(st, Inputs(7, 7, {}), T0, State()).count == 3
    assert decide(st, Inputs(1, 1, {}), T0, State()).count == 2


def test_scale_in_only_when_all_in_rules_fire() -> None:
    st = setting([CPU_IN, LAT_IN], minimum=1)
    one_fires = windows_by_rule(st, [[10] * 10, [3] * 10])
    assert decide(st, Inputs(3, 3, one_fires), T0, State()).count == 3
    both = windows_by_rule(st, [[10] * 10, [0.2] * 10])
    d = decide(st, Inputs(3, 3, both), T0, State())
    assert d.count == 2


def test_cooldown_per_rule_with_a_fake_clock() -> None:
    st = setting([("CpuUtilizationPercentage > 70 avg 10s", ["out", "1"], "30s")], maximum=10)
    state = State()
    d = decide(st, Inputs(2, 2, flat(st, [90] * 10)), T0, state)
    assert d.count == 3
    # 10 s later: still hot, but the rule is cooling down
    later = T0 + 10
    d2 = decide(st, Inputs(3, 3, flat(st, [90] * 10, later)), later, d.state)
    assert d2.count == 3
    # after the 30 s cooldown it acts again
    later = T0 + 31
    assert decide(st, Inputs(3, 3, flat(st, [90] * 10, later)), later, d2.state).count == 4


def test_flapping_guard_shrinks_or_skips_a_scale_in() -> None:
    # CPU 40% on 2 instances: scaling in to 1 would make it 80% > 70 → out rule would fire.
    st = setting([CPU_OUT, ("CpuUtilizationPercentage < 45 avg 10s", ["in", "1"], "1")])
    d = decide(st, Inputs(2, 2, flat(st, [40] * 10)), T0, State())
    assert d.count == 2 and "flapping" in d.reason
    # 20% on 4 instances: in by 1 → 26.7%, fine
    d = decide(st, Inputs(4, 4, flat(st, [20] * 10)), T0, State())
    assert d.count == 3


def test_percent_and_exact_actions() -> None:
    st = setting([("CpuUtilizationPercentage > 70 avg 10s", ["out", "50%"], "1")], maximum=10)
    assert decide(st, Inputs(4, 4, flat(st, [90] * 10)), T0, State()).count == 6
    st = setting([("CpuUtilizationPercentage > 70 avg 10s", ["to", "5"], "1")], maximum=10)
    assert decide(st, Inputs(2, 2, flat(st, [90] * 10)), T0, State()).count == 5


def test_target_tracking_one_step_both_ways() -> None:
    st = setting(
        [("ConcurrentRequestsPerInstance > 4 avg 10s", ["target"], "0")], minimum=1, maximum=20
    )
    # 2 instances at 10 in flight each = 20 in flight; target 4 → 5 instances in one step
    d = decide(st, Inputs(2, 2, flat(st, [10] * 10)), T0, State())
    assert d.count == 5 and "target" in d.reason
    # 5 instances at 0.8 each = 4 in flight → 1 instance
    assert decide(st, Inputs(5, 5, flat(st, [0.8] * 10)), T0, State()).count == 1
    # at target: unchanged
    assert decide(st, Inputs(5, 5, flat(st, [4] * 10)), T0, State()).count == 5


def test_disabled_keeps_the_current_count() -> None:
    st = setting([CPU_OUT], enabled=False)
    d = decide(st, Inputs(2, 2, flat(st, [99] * 10)), T0, State())
    assert d.count == 2 and "disabled" in d.reason


def test_profile_without_rules_holds_its_default() -> None:
    st = setting([], count=3)
    assert decide(st, Inputs(1, 1, {}), T0, State()).count == 3


def weekend(**kw: Any) -> dict[str, Any]:
    return S.make_profile(
        "weekend",
        minimum=kw.get("minimum", 4),
        maximum=4,
        count=4,
        timezone=kw.get("timezone", "Pacific Standard Time"),
        recurrence=["week", "sat", "sun"],
        start=kw.get("start"),
        end=kw.get("end"),
    )


def test_recurrence_is_timezone_aware() -> None:
    st = setting([], count=2, extra_profiles=[weekend()])
    # Saturday 05:00 UTC is still Friday 21:00 in Los Angeles
    sat_utc = datetime(2026, 12, 5, 5, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    assert active_profile(st, sat_utc).name == "default"  # type: ignore[union-attr]
    sat_la = datetime(2026, 12, 5, 9, 0, tzinfo=ZoneInfo("America/Los_Angeles")).timestamp()
    assert active_profile(st, sat_la).name == "weekend"  # type: ignore[union-attr]
    d = decide(st, Inputs(2, 2, {}), sat_la, State())
    assert d.count == 4 and d.profile == "weekend"


def test_recurrence_start_and_end_times() -> None:
    st = setting([], extra_profiles=[weekend(start="08:00", end="17:00", timezone="UTC")])
    at = lambda h: datetime(2026, 12, 5, h, 0, tzinfo=ZoneInfo("UTC")).timestamp()  # noqa: E731
    assert active_profile(st, at(7)).name == "default"  # type: ignore[union-attr]
    assert active_profile(st, at(8)).name == "weekend"  # type: ignore[union-attr]
    assert active_profile(st, at(17)).name == "default"  # type: ignore[union-attr]


def test_fixed_date_beats_recurrence_beats_default() -> None:
    fixed = S.make_profile(
        "holiday",
        minimum=5,
        maximum=5,
        count=5,
        timezone="UTC",
        recurrence=None,
        start="2026-12-05T00:00:00",
        end="2026-12-06T23:59:59",
    )
    st = setting([], extra_profiles=[weekend(timezone="UTC"), fixed])
    sat = datetime(2026, 12, 5, 12, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    assert active_profile(st, sat).name == "holiday"  # type: ignore[union-attr]
    next_sat = sat + 7 * 86400
    assert active_profile(st, next_sat).name == "weekend"  # type: ignore[union-attr]
    assert active_profile(st, T0).name == "default"  # type: ignore[union-attr]


def test_deleted_profile_falls_back_to_default() -> None:
    doc = S.new_setting("s", DEP, minimum=1, maximum=5, count=2)
    doc["profiles"].append(weekend(timezone="UTC"))
    sat = datetime(2026, 12, 5, 12, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    assert decide(S.parse(doc), Inputs(2, 2, {}), sat, State()).count == 4
    doc["profiles"] = doc["profiles"][:1]
    assert decide(S.parse(doc), Inputs(4, 4, {}), sat, State()).count == 2


def test_scale_to_zero_after_the_idle_window() -> None:
    st = setting([CPU_OUT], minimum=0, count=1, idle="60s")
    state = decide(st, Inputs(1, 1, {}), T0, State()).state  # first evaluation starts the clock
    assert decide(st, Inputs(1, 1, {}, last_activity=T0 + 10), T0 + 50, state).count == 1
    d = decide(st, Inputs(1, 1, {}, last_activity=T0 + 10), T0 + 71, state)
    assert d.count == 0 and "idle" in d.reason


def test_held_requests_wake_a_deployment_at_zero() -> None:
    st = setting([CPU_OUT], minimum=0, count=1, idle="60s")
    d = decide(st, Inputs(0, 0, {}, pending=3), T0, State(last_scale=T0 - 500))
    assert d.count == 1 and "held" in d.reason
    # freshly woken: the idle window counts from the wake, not from the last request
    assert decide(st, Inputs(1, 1, {}, last_activity=T0 - 400), T0 + 30, d.state).count == 1
    # at zero with nothing held: stays at zero
    assert decide(st, Inputs(0, 0, {}), T0, State()).count == 0


def test_min_zero_never_scales_to_zero_while_busy() -> None:
    st = setting([CPU_OUT], minimum=0, count=1, idle="60s")
    state = State(since=T0 - 1000)
    assert decide(st, Inputs(1, 1, {}, last_activity=T0 - 1), T0, state).count == 1


def test_rules_never_take_a_deployment_to_zero_only_the_idle_window_does() -> None:
    st = setting(
        [("ConcurrentRequestsPerInstance > 2 avg 10s", ["target"], "0")], minimum=0, count=1
    )
    state = State(since=T0 - 5)
    assert (
        decide(st, Inputs(2, 2, flat(st, [0.0] * 10), last_activity=T0 - 1), T0, state).count == 1
    )
    assert (
        decide(st, Inputs(1, 1, flat(st, [0.0] * 10), last_activity=T0 - 1), T0, state).count == 1
    )
