"""Autoscale settings: the camelCase JSON of ``az monitor autoscale`` and its typed, checked form.

The stored document is what ``show`` prints (``profiles[].capacity.minimum|maximum|default`` as
strings, ``profiles[].rules[].metricTrigger`` / ``scaleAction``, ``targetResourceUri``,
``enabled``). :func:`parse` turns it into frozen dataclasses for :mod:`switchman.autoscale.policy`;
the ``build_*`` / ``add_*`` helpers edit it for the CLI verbs, validating everything first.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from switchman.autoscale import grammar
from switchman.errors import BadArgumentError

DEFAULT_PROFILE = "default"
DEFAULT_GRAIN = "PT1S"  # Azure's is PT1M; Switchman evaluates every second
DEFAULT_IDLE_WINDOW = "PT5M"
_RESOURCE = re.compile(r"/onlineEndpoints/([^/]+)(?:/deployments/([^/]+))?/?$", re.IGNORECASE)


@dataclass(frozen=True)
class Resource:
    """What a resource URI names: an endpoint, or one of its deployments."""

    endpoint: str
    deployment: str | None


def parse_resource(uri: str, *, what: str = "--resource") -> Resource:
    """``/…/onlineEndpoints/EP[/deployments/DEP]`` (Switchman's ids and Azure ARM ids alike)."""
    match = _RESOURCE.search(str(uri or "").strip())
    if not match:
        raise BadArgumentError(
            f"{what} {uri!r} is not an online endpoint or deployment id: use the `id` that "
            "`switchman online-deployment show -e EP -n DEP` (or `online-endpoint show -n EP`) "
            "prints, e.g. /switchman/onlineEndpoints/my-ep/deployments/blue."
        )
    return Resource(match.group(1), match.group(2))


@dataclass(frozen=True)
class Trigger:
    metric: str
    resource: Resource
    operator: str  # GreaterThan, LessThan, ...
    threshold: float
    statistic: str  # across instances in one grain: Average, Min, Max, Sum
    aggregation: str  # over the window: Average, Minimum, Maximum, Total, Count, Last
    window_s: float
    dimensions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (name, Equals|NotEquals, values)


@dataclass(frozen=True)
class Action:
    direction: str  # Increase | Decrease | None
    type: str  # ChangeCount | PercentChangeCount | ExactCount | TargetTracking
    value: int
    cooldown_s: float


@dataclass(frozen=True)
class Rule:
    key: str  # stable id (a hash of the rule), for per-rule cooldowns
    index: int
    trigger: Trigger
    action: Action

    @property
    def scales_out(self) -> bool:
        return self.action.direction == "Increase" or self.action.type == "TargetTracking"


@dataclass(frozen=True)
class Recurrence:
    zone: str
    days: frozenset[str]
    start: tuple[int, int]
    end: tuple[int, int] | None


@dataclass(frozen=True)
class FixedDate:
    zone: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Profile:
    name: str
    minimum: int
    maximum: int
    default: int
    rules: tuple[Rule, ...]
    recurrence: Recurrence | None = None
    fixed: FixedDate | None = None


@dataclass(frozen=True)
class Setting:
    name: str
    enabled: bool
    target: Resource
    profiles: tuple[Profile, ...]
    idle_window_s: float


# -- typed form ----------------------------------------------------------------------------------


def rule_key(rule: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(rule, sort_keys=True).encode()).hexdigest()[:12]


def _capacity(profile: dict[str, Any]) -> tuple[int, int, int]:
    cap = profile.get("capacity") or {}
    try:
        return int(cap["minimum"]), int(cap["maximum"]), int(cap["default"])
    except (KeyError, TypeError, ValueError):
        raise BadArgumentError(
            f"Profile {profile.get('name')!r}: capacity needs minimum, maximum and default counts."
        ) from None


def _parse_date(text: str, what: str) -> datetime:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise BadArgumentError(
            f"{what} {text!r} is not a date: use ISO 8601, e.g. 2026-12-24T08:00:00."
        ) from None


def parse(doc: dict[str, Any]) -> Setting:
    """The typed form of a stored setting (already validated when it was stored)."""
    target = parse_resource(doc["targetResourceUri"], what="targetResourceUri")
    profiles = []
    for p in doc.get("profiles") or []:
        minimum, maximum, default = _capacity(p)
        rules = []
        for index, raw in enumerate(p.get("rules") or []):
            mt, sa = raw["metricTrigger"], raw["scaleAction"]
            rules.append(
                Rule(
                    key=rule_key(raw),
                    index=index,
                    trigger=Trigger(
                        metric=mt["metricName"],
                        resource=parse_resource(
                            mt.get("metricResourceUri") or doc["targetResourceUri"]
                        ),
                        operator=mt["operator"],
                        threshold=float(mt["threshold"]),
                        statistic=mt.get("statistic", "Average"),
                        aggregation=mt.get("timeAggregation", "Average"),
                        window_s=grammar.seconds(mt.get("timeWindow", "PT5M"), what="timeWindow"),
                        dimensions=tuple(
                            (
                                str(d["DimensionName"]),
                                str(d.get("Operator", "Equals")),
                                tuple(str(v) for v in d.get("Values") or []),
                            )
                            for d in mt.get("dimensions") or []
                        ),
                    ),
                    action=Action(
                        direction=sa.get("direction", "Increase"),
                        type=sa.get("type", "ChangeCount"),
                        value=int(sa.get("value", 1)),
                        cooldown_s=(
                            0.0
                            if sa.get("cooldown") in (None, "PT0S", "PT0M")
                            else grammar.seconds(sa["cooldown"], what="cooldown")
                        ),
                    ),
                )
            )
        recurrence = None
        if p.get("recurrence"):
            sched = p["recurrence"]["schedule"]
            end = sched.get("endTime")
            recurrence = Recurrence(
                zone=sched.get("timeZone") or "UTC",
                days=frozenset(sched.get("days") or []),
                start=(int((sched.get("hours") or [0])[0]), int((sched.get("minutes") or [0])[0])),
                end=grammar.parse_clock(end, what="endTime") if end else None,
            )
        fixed = None
        if p.get("fixedDate"):
            fd = p["fixedDate"]
            fixed = FixedDate(
                zone=fd.get("timeZone") or "UTC",
                start=_parse_date(fd["start"], "fixedDate.start"),
                end=_parse_date(fd["end"], "fixedDate.end"),
            )
        profiles.append(
            Profile(p["name"], minimum, maximum, default, tuple(rules), recurrence, fixed)
        )
    return Setting(
        name=doc["name"],
        enabled=bool(doc.get("enabled", True)),
        target=target,
        profiles=tuple(profiles),
        idle_window_s=grammar.seconds(
            doc.get("scaleToZeroIdleWindow") or DEFAULT_IDLE_WINDOW, what="idle window"
        ),
    )


# -- building and editing the document -----------------------------------------------------------


def check_capacity(minimum: int, maximum: int, count: int, *, where: str) -> None:
    """min ≤ count ≤ max, min ≥ 0, max ≥ 1."""
    if minimum < 0 or maximum < 1:
        raise BadArgumentError(
            f"{where}: --min-count must be 0 or more (0 scales to zero) and --max-count at least "
            f"1; got min {minimum}, max {maximum}."
        )
    if minimum > maximum:
        raise BadArgumentError(
            f"{where}: --min-count {minimum} is greater than --max-count {maximum}; the minimum "
            "must not exceed the maximum."
        )
    if not minimum <= count <= maximum:
        raise BadArgumentError(
            f"{where}: --count {count} is outside [--min-count {minimum}, --max-count "
            f"{maximum}]; the default count must lie within the bounds."
        )


def capacity(minimum: int, maximum: int, count: int) -> dict[str, str]:
    return {"minimum": str(minimum), "maximum": str(maximum), "default": str(count)}


def new_setting(
    name: str,
    resource_uri: str,
    *,
    minimum: int,
    maximum: int,
    count: int,
    enabled: bool = True,
    idle_window: str | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    check_capacity(minimum, maximum, count, where=f"Autoscale setting {name!r}")
    window = grammar.iso(grammar.seconds(idle_window or DEFAULT_IDLE_WINDOW, what="--idle-window"))
    return {
        "id": f"/switchman/autoscalesettings/{name}",
        "name": name,
        "type": "Microsoft.Insights/autoscaleSettings",
        "location": "switchman",
        "enabled": enabled,
        "targetResourceUri": resource_uri,
        "targetResourceLocation": "switchman",
        "scaleToZeroIdleWindow": window,
        "profiles": [
            {
                "name": DEFAULT_PROFILE,
                "capacity": capacity(minimum, maximum, count),
                "rules": [],
                "fixedDate": None,
                "recurrence": None,
            }
        ],
        "notifications": [],
        "tags": dict(tags or {}),
    }


def find_profile(doc: dict[str, Any], name: str) -> dict[str, Any]:
    for profile in doc["profiles"]:
        if profile["name"] == name:
            return dict(profile)
    names = ", ".join(p["name"] for p in doc["profiles"]) or "none"
    raise BadArgumentError(
        f"Autoscale setting {doc['name']!r} has no profile {name!r}; its profiles: {names}."
    )


def default_profile(doc: dict[str, Any]) -> dict[str, Any] | None:
    for profile in doc["profiles"]:
        if not profile.get("recurrence") and not profile.get("fixedDate"):
            return dict(profile)
    return None


def update_setting(
    doc: dict[str, Any],
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    count: int | None = None,
    enabled: bool | None = None,
    idle_window: str | None = None,
) -> dict[str, Any]:
    """``autoscale update``: change the default profile's capacity and/or ``enabled``."""
    out = copy.deepcopy(doc)
    if enabled is not None:
        out["enabled"] = enabled
    if idle_window is not None:
        out["scaleToZeroIdleWindow"] = grammar.iso(
            grammar.seconds(idle_window, what="--idle-window")
        )
    if minimum is not None or maximum is not None or count is not None:
        target = default_profile(out) or out["profiles"][0]
        cur_min, cur_max, cur_def = _capacity(target)
        new_min = cur_min if minimum is None else minimum
        new_max = cur_max if maximum is None else maximum
        new_def = cur_def if count is None else count
        check_capacity(new_min, new_max, new_def, where=f"Autoscale setting {doc['name']!r}")
        for p in out["profiles"]:
            if p["name"] == target["name"]:
                p["capacity"] = capacity(new_min, new_max, new_def)
    return out


def make_rule(
    condition: str,
    scale: list[str],
    *,
    resource_uri: str,
    cooldown: str = "5",
    timegrain: str | None = None,
) -> dict[str, Any]:
    """One ``rules[]`` entry from ``rule create`` flags."""
    trigger = grammar.parse_condition(condition)
    statistic, grain = (
        grammar.parse_timegrain(timegrain) if timegrain else ("Average", DEFAULT_GRAIN)
    )
    action = grammar.parse_scale(scale, cooldown=cooldown)
    if action["type"] == "TargetTracking":
        if trigger["operator"] not in ("GreaterThan", "GreaterThanOrEqual"):
            raise BadArgumentError(
                f"--scale target tracks the condition's threshold as a target: write it as "
                f'"{trigger["metricName"]} > <target> avg 30s".'
            )
        if grammar.METRICS[trigger["metricName"]][1] != "instance" or trigger["threshold"] <= 0:
            raise BadArgumentError(
                "--scale target needs a per-instance metric with a positive target: "
                "ConcurrentRequestsPerInstance, CpuUtilizationPercentage or "
                f"CpuMemoryUtilizationPercentage (got {trigger['metricName']} "
                f"{trigger['threshold']:g})."
            )
        action["value"] = f"{trigger['threshold']:g}"
    trigger.update(
        {
            "metricResourceUri": resource_uri,
            "timeGrain": grain,
            "statistic": statistic,
            "dividePerInstance": False,
        }
    )
    return {"metricTrigger": trigger, "scaleAction": action}


def check_metric_scope(rule: dict[str, Any], resource: Resource) -> None:
    metric = rule["metricTrigger"]["metricName"]
    scope = grammar.METRICS[metric][0]
    if scope == "deployment" and resource.deployment is None:
        raise BadArgumentError(
            f"{metric} is a deployment metric, but the rule's resource is endpoint "
            f"{resource.endpoint!r}: give a deployment id with --resource, or use an endpoint "
            "metric (RequestLatency, RequestsPerMinute, RequestLatency_P99, NetworkBytes)."
        )
    if scope == "endpoint" and resource.deployment is not None:
        raise BadArgumentError(
            f"{metric} is an endpoint metric: give the endpoint's id with --resource (as in "
            "`switchman online-endpoint show -n EP --query id`) and filter with "
            '"where Deployment == <name>".'
        )


def make_profile(
    name: str,
    *,
    minimum: int,
    maximum: int,
    count: int,
    timezone: str | None,
    recurrence: list[str] | None,
    start: str | None,
    end: str | None,
    rules: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A ``profiles[]`` entry: recurring (``--recurrence week sat sun``), fixed-date
    (``--start``/``--end`` dates), or neither (a default profile)."""
    check_capacity(minimum, maximum, count, where=f"Profile {name!r}")
    zone = grammar.timezone(timezone)
    profile: dict[str, Any] = {
        "name": name,
        "capacity": capacity(minimum, maximum, count),
        "rules": list(rules or []),
        "fixedDate": None,
        "recurrence": None,
    }
    if recurrence:
        days = grammar.parse_days(recurrence)
        hour, minute = grammar.parse_clock(start, what="--start") if start else (0, 0)
        schedule: dict[str, Any] = {
            "timeZone": zone,
            "days": days,
            "hours": [hour],
            "minutes": [minute],
        }
        if end:
            grammar.parse_clock(end, what="--end")
            schedule["endTime"] = end
        profile["recurrence"] = {"frequency": "Week", "schedule": schedule}
    elif start or end:
        if not (start and end):
            raise BadArgumentError(
                f"Profile {name!r}: a fixed-date profile needs both --start and --end (ISO 8601 "
                "dates, e.g. --start 2026-12-24T00:00 --end 2026-12-26T23:59); a recurring one "
                "needs --recurrence week <days>."
            )
        s, e = _parse_date(start, "--start"), _parse_date(end, "--end")
        if (s.tzinfo is None) != (e.tzinfo is None) or e <= s:
            raise BadArgumentError(
                f"Profile {name!r}: --end {end} must come after --start {start} (both with or "
                "both without a UTC offset)."
            )
        profile["fixedDate"] = {"timeZone": zone, "start": s.isoformat(), "end": e.isoformat()}
    return profile
