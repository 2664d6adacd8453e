"""The az monitor autoscale mini-languages and setting documents (pure parsing, no platform)."""

from __future__ import annotations

import pytest

from switchman.autoscale import grammar
from switchman.autoscale import setting as S
from switchman.errors import BadArgumentError

DEP = "/switchman/onlineEndpoints/ep/deployments/blue"
EP = "/switchman/onlineEndpoints/ep"


def test_condition_as_az_writes_it() -> None:
    t = grammar.parse_condition("CpuUtilizationPercentage > 70 avg 5m")
    assert t["metricName"] == "CpuUtilizationPercentage"
    assert (t["operator"], t["threshold"], t["timeAggregation"], t["timeWindow"]) == (
        "GreaterThan",
        70.0,
        "Average",
        "PT5M",
    )
    assert t["dimensions"] == []


@pytest.mark.parametrize(
    "text",
    [
        "RequestLatency > 70 avg 5m where Deployment == blue",
        "RequestLatency where Deployment == blue > 70 avg 5m",
    ],
)
def test_condition_with_dimension_filter(text: str) -> None:
    t = grammar.parse_condition(text)
    assert t["dimensions"] == [
        {"DimensionName": "Deployment", "Operator": "Equals", "Values": ["blue"]}
    ]
    assert t["threshold"] == 70.0


def test_where_with_or_and_and() -> None:
    t = grammar.parse_condition(
        "RequestsPerMinute >= 10 total 30s where Deployment == blue or green and statusCodeClass != 5xx"
    )
    assert t["dimensions"] == [
        {"DimensionName": "Deployment", "Operator": "Equals", "Values": ["blue", "green"]},
        {"DimensionName": "statusCodeClass", "Operator": "NotEquals", "Values": ["5xx"]},
    ]
    assert t["timeWindow"] == "PT30S"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("Foo > 1 avg 5m", "Valid metrics"),
        ("CpuUtilizationPercentage >> 1 avg 5m", "not an operator"),
        ("CpuUtilizationPercentage > x avg 5m", "not a number"),
        ("CpuUtilizationPercentage > 1 mean 5m", "aggregation"),
        ("CpuUtilizationPercentage > 1 avg 5 minutes", "malformed"),
        ("CpuUtilizationPercentage > 1 avg", "malformed"),
        ("CpuUtilizationPercentage > 1 avg 0s", "longer than zero"),
        ("RequestLatency > 1 avg 5m where Deployment blue", "where clause"),
    ],
)
def test_bad_conditions_say_what_is_valid(text: str, needle: str) -> None:
    with pytest.raises(BadArgumentError, match=needle):
        grammar.parse_condition(text)


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["out", "2"], ("Increase", "ChangeCount", "2")),
        (["in", "1"], ("Decrease", "ChangeCount", "1")),
        (["to", "5"], ("None", "ExactCount", "5")),
        (["out", "50%"], ("Increase", "PercentChangeCount", "50")),
        (["out", "50", "percent"], ("Increase", "PercentChangeCount", "50")),
        (["target"], ("Increase", "TargetTracking", "0")),
    ],
)
def test_scale_actions(tokens: list[str], expected: tuple[str, str, str]) -> None:
    a = grammar.parse_scale(tokens, cooldown="1")
    assert (a["direction"], a["type"], a["value"]) == expected
    assert a["cooldown"] == "PT1M"


@pytest.mark.parametrize(
    "tokens", [["up", "1"], ["out"], ["out", "x"], ["to", "5%"], ["in", "0"], []]
)
def test_bad_scale(tokens: list[str]) -> None:
    with pytest.raises(BadArgumentError, match="--scale"):
        grammar.parse_scale(tokens)


def test_durations_and_cooldowns() -> None:
    assert grammar.seconds("30s", what="x") == 30
    assert grammar.seconds("PT1H30M", what="x") == 5400
    assert grammar.iso(5400) == "PT1H30M"
    assert grammar.iso(2.5) == "PT2.5S"
    assert grammar.cooldown_seconds("5") == 300
    assert grammar.cooldown_seconds("0.05") == pytest.approx(3)
    assert grammar.cooldown_seconds("10s") == 10


def test_timezones_windows_and_iana() -> None:
    assert grammar.zone("Pacific Standard Time").key == "America/Los_Angeles"
    assert grammar.zone("pacific standard time").key == "America/Los_Angeles"
    assert grammar.zone("Europe/Berlin").key == "Europe/Berlin"
    with pytest.raises(BadArgumentError, match="not a time zone"):
        grammar.zone("Mars Standard Time")


def test_days() -> None:
    assert grammar.parse_days(["week", "sat", "sun"]) == ["Saturday", "Sunday"]
    assert grammar.parse_days(["week", "Monday", "tu"]) == ["Monday", "Tuesday"]
    with pytest.raises(BadArgumentError, match="not a day"):
        grammar.parse_days(["week", "funday"])
    with pytest.raises(BadArgumentError, match="week"):
        grammar.parse_days(["month", "1"])
    with pytest.raises(BadArgumentError, match="not a day"):
        grammar.parse_days(["week", "t"])  # ambiguous


def test_capacity_rules() -> None:
    with pytest.raises(BadArgumentError, match="greater than --max-count"):
        S.new_setting("s", DEP, minimum=3, maximum=2, count=2)
    with pytest.raises(BadArgumentError, match="outside"):
        S.new_setting("s", DEP, minimum=1, maximum=2, count=5)
    doc = S.new_setting("s", DEP, minimum=0, maximum=3, count=1)
    assert doc["profiles"][0]["capacity"] == {"minimum": "0", "maximum": "3", "default": "1"}
    assert doc["targetResourceUri"] == DEP and doc["enabled"] is True


def test_resource_ids_both_formats() -> None:
    assert S.parse_resource(DEP) == S.Resource("ep", "blue")
    arm = (
        "/subscriptions/0/resourceGroups/rg/providers/Microsoft.MachineLearningServices/"
        "workspaces/ws/onlineEndpoints/ep/deployments/blue"
    )
    assert S.parse_resource(arm) == S.Resource("ep", "blue")
    assert S.parse_resource(EP) == S.Resource("ep", None)
    with pytest.raises(BadArgumentError, match="not an online endpoint or deployment id"):
        S.parse_resource("/subscriptions/0/virtualMachines/vm")


def test_rule_and_profile_documents_round_trip() -> None:
    doc = S.new_setting("s", DEP, minimum=1, maximum=5, count=2)
    doc["profiles"][0]["rules"].append(
        S.make_rule("CpuUtilizationPercentage > 70 avg 5m", ["out", "2"], resource_uri=DEP)
    )
    doc["profiles"].append(
        S.make_profile(
            "weekend",
            minimum=2,
            maximum=2,
            count=2,
            timezone="Pacific Standard Time",
            recurrence=["week", "sat", "sun"],
            start=None,
            end=None,
        )
    )
    typed = S.parse(doc)
    rule = typed.profiles[0].rules[0]
    assert rule.trigger.window_s == 300 and rule.action.value == 2 and rule.action.cooldown_s == 300
    assert typed.profiles[1].recurrence is not None
    assert typed.profiles[1].recurrence.days == frozenset({"Saturday", "Sunday"})


def test_target_rule_needs_per_instance_metric() -> None:
    rule = S.make_rule("ConcurrentRequestsPerInstance > 4 avg 30s", ["target"], resource_uri=DEP)
    assert rule["scaleAction"]["type"] == "TargetTracking" and rule["scaleAction"]["value"] == "4"
    with pytest.raises(BadArgumentError, match="per-instance metric"):
        S.make_rule("RequestsPerMinute > 4 avg 30s", ["target"], resource_uri=DEP)


def test_metric_scope_is_checked() -> None:
    rule = S.make_rule("RequestLatency > 70 avg 5m", ["out", "1"], resource_uri=DEP)
    with pytest.raises(BadArgumentError, match="endpoint metric"):
        S.check_metric_scope(rule, S.Resource("ep", "blue"))
    rule = S.make_rule("CpuUtilizationPercentage > 70 avg 5m", ["out", "1"], resource_uri=EP)
    with pytest.raises(BadArgumentError, match="deployment metric"):
        S.check_metric_scope(rule, S.Resource("ep", None))


def test_fixed_date_profile_needs_both_ends_in_order() -> None:
    kw = dict(minimum=1, maximum=1, count=1, timezone=None, recurrence=None)
    with pytest.raises(BadArgumentError, match="both --start and --end"):
        S.make_profile("x", start="2026-12-24T00:00", end=None, **kw)  # type: ignore[arg-type]
    with pytest.raises(BadArgumentError, match="must come after"):
        S.make_profile("x", start="2026-12-24T00:00", end="2026-12-23T00:00", **kw)  # type: ignore[arg-type]
