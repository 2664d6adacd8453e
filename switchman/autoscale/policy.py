"""The autoscale decision: a pure function of (setting, metric windows, counts, clock, state).

Azure Monitor's semantics (reference §8.1): the active profile is the fixed-date one covering now,
else a recurring one whose day and start time (in its time zone) have come, else the default one.
In that profile, scale out if any out-rule fires (to the largest count asked), scale in only if
every in-rule fires (to the largest of their counts: the smallest step), never outside
[minimum, maximum]; a rule whose action ran less than its cooldown ago does not fire; a scale-in
that would make a scale-out rule fire at once (per-instance metrics are projected onto the smaller
count) is shrunk or skipped — Azure's flapping guard. A profile without rules holds its default.

Beyond Azure: target-tracking rules (``--scale target``) ask for ``ceil(instances x value /
target)`` instances in one step (KServe's KPA, Ray Serve's ongoing-requests policy), both ways;
with a minimum of 0, a deployment idle for the idle window goes to zero, and held requests at
zero ask for one instance (``pending``).

No I/O, no clock of its own: ``now`` and the metric samples come in, the new state goes out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from switchman.autoscale import grammar
from switchman.autoscale.setting import Profile, Rule, Setting

Sample = tuple[float, float]  # (epoch seconds, value of one grain)
_COMPARE = {
    "GreaterThan": lambda v, t: v > t,
    "GreaterThanOrEqual": lambda v, t: v >= t,
    "LessThan": lambda v, t: v < t,
    "LessThanOrEqual": lambda v, t: v <= t,
    "Equals": lambda v, t: v == t,
    "NotEquals": lambda v, t: v != t,
}


@dataclass(frozen=True)
class State:
    """What the decision remembers between evaluations (stored with the setting)."""

    since: float | None = None  # first evaluation: the idle window counts from here at most
    last_scale: float | None = None
    rule_fired: Mapping[str, float] = field(default_factory=dict)  # rule key → when it acted
    profile: str | None = None


@dataclass(frozen=True)
class Inputs:
    """The observed world: counts and metric windows (keyed by rule key)."""

    current: int  # the deployment's desired instance_count now
    ready: int  # ready instances (what per-instance metrics were measured over)
    windows: Mapping[str, Sequence[Sample]]
    last_activity: float | None = None  # last time a request was in flight or arrived
    pending: int = 0  # requests held by the router for a deployment at zero


@dataclass(frozen=True)
class Decision:
    count: int
    reason: str
    state: State
    profile: str
    rule: int | None = None  # index of the rule that decided, if one did
    metric: str | None = None
    value: float | None = None


def aggregate(samples: Sequence[Sample], how: str, now: float, window_s: float) -> float | None:
    """The window's value (``timeAggregation``), or None without data in the window."""
    values = [v for t, v in samples if now - window_s <= t <= now]
    if not values:
        return None
    if how == "Average":
        return sum(values) / len(values)
    if how == "Minimum":
        return min(values)
    if how == "Maximum":
        return max(values)
    if how == "Total":
        return sum(values)
    if how == "Count":
        return float(len(values))
    return values[-1]  # Last


def _local(now: float, zone: str) -> datetime:
    return datetime.fromtimestamp(now, grammar.zone(zone))


def active_profile(setting: Setting, now: float) -> Profile | None:
    """Fixed date > recurrence > default (the first profile with neither)."""
    for p in setting.profiles:
        if p.fixed is not None:
            local = _local(now, p.fixed.zone)
            start, end = p.fixed.start, p.fixed.end
            if start.tzinfo is None:
                local = local.replace(tzinfo=None)
            if start <= local <= end:
                return p
    for p in setting.profiles:
        rec = p.recurrence
        if rec is None:
            continue
        local = _local(now, rec.zone)
        if local.strftime("%A") not in rec.days:
            continue
        minute_of_day = local.hour * 60 + local.minute
        begin = rec.start[0] * 60 + rec.start[1]
        finish = rec.end[0] * 60 + rec.end[1] if rec.end else 24 * 60
        if begin <= minute_of_day < finish:
            return p
    for p in setting.profiles:
        if p.fixed is None and p.recurrence is None:
            return p
    return None


def _per_instance(rule: Rule) -> bool:
    return grammar.METRICS.get(rule.trigger.metric, ("", ""))[1] == "instance"


def _project(rule: Rule, value: float, ready: int, count: int) -> float:
    """The metric once ``count`` instances share the load now on ``ready`` (flapping guard)."""
    if not _per_instance(rule) or count <= 0:
        return value
    return value * max(ready, 1) / count


def _asked(rule: Rule, current: int, ready: int, value: float) -> int:
    """The count a firing rule asks for."""
    a = rule.action
    if a.type == "TargetTracking":
        target = rule.trigger.threshold
        return max(0, math.ceil(round(max(ready, 1) * value / target, 6)))
    if a.type == "ExactCount":
        return a.value
    step = a.value if a.type == "ChangeCount" else max(1, math.ceil(current * a.value / 100.0))
    return current + step if a.direction == "Increase" else current - step


def decide(setting: Setting, inputs: Inputs, now: float, state: State) -> Decision:
    """The instance count the deployment should have now, and why."""
    if state.since is None:
        state = replace(state, since=now)
    current = inputs.current
    profile = active_profile(setting, now)
    if not setting.enabled or profile is None:
        why = "the setting is disabled" if not setting.enabled else "no profile applies"
        return Decision(current, f"unchanged: {why}", state, profile.name if profile else "")
    state = replace(state, profile=profile.name)
    lo, hi = profile.minimum, profile.maximum

    def done(
        count: int, reason: str, rule: Rule | None = None, value: float | None = None
    ) -> Decision:
        new_state = state
        if count != current:
            fired = dict(state.rule_fired)
            if rule is not None:
                fired[rule.key] = now
            new_state = replace(state, last_scale=now, rule_fired=fired)
        return Decision(
            count,
            reason,
            new_state,
            profile.name,
            rule.index if rule else None,
            rule.trigger.metric if rule else None,
            value,
        )

    if current == 0 and inputs.pending > 0 and hi > 0:
        wake = min(hi, max(1, lo, profile.default))
        return done(wake, f"{inputs.pending} request(s) held at zero instances: waking to {wake}")
    if current < lo:
        return done(lo, f"below the minimum of profile {profile.name!r}: {current} → {lo}")
    if current > hi:
        return done(hi, f"above the maximum of profile {profile.name!r}: {current} → {hi}")
    # Scale to zero after the idle window (minimum 0 only).
    if lo == 0 and current > 0:
        quiet_from = max(
            x for x in (inputs.last_activity, state.last_scale, state.since) if x is not None
        )
        if now - quiet_from >= setting.idle_window_s:
            return done(
                0,
                f"idle for {now - quiet_from:.0f}s (idle window {setting.idle_window_s:g}s): scaling to zero",
            )
    if not profile.rules:
        if current == 0 and lo == 0:
            return done(0, f"profile {profile.name!r}: at zero until a request arrives")
        if current != profile.default:
            return done(profile.default, f"profile {profile.name!r} has no rules: its default")
        return done(current, f"profile {profile.name!r}: holding its default {current}")

    values: dict[str, float] = {}
    for rule in profile.rules:
        v = aggregate(
            inputs.windows.get(rule.key, ()), rule.trigger.aggregation, now, rule.trigger.window_s
        )
        if v is not None:
            values[rule.key] = v

    def cooling(rule: Rule) -> bool:
        fired = state.rule_fired.get(rule.key)
        return fired is not None and now - fired < rule.action.cooldown_s

    def fires(rule: Rule, value: float) -> bool:
        return bool(_COMPARE[rule.trigger.operator](value, rule.trigger.threshold))

    # Scale out: any out-rule (target rules vote out when they ask for more).
    out_votes: list[tuple[int, Rule, float]] = []
    for rule in profile.rules:
        v = values.get(rule.key)
        if v is None or cooling(rule):
            continue
        if rule.action.type == "TargetTracking":
            asked = _asked(rule, current, inputs.ready, v)
            if asked > current:
                out_votes.append((asked, rule, v))
        elif rule.action.direction == "Increase" and fires(rule, v):
            out_votes.append((_asked(rule, current, inputs.ready, v), rule, v))
        elif rule.action.type == "ExactCount" and fires(rule, v):
            asked = _asked(rule, current, inputs.ready, v)
            if asked > current:
                out_votes.append((asked, rule, v))
    if out_votes:
        asked, rule, v = max(out_votes, key=lambda x: x[0])
        new = min(hi, asked)
        if new > current:
            return done(new, _why(rule, v, current, new), rule, v)

    # Scale in: only when every in-rule fires.
    in_rules = [
        r
        for r in profile.rules
        if not (r.action.direction == "Increase" and r.action.type != "TargetTracking")
    ]
    in_votes: list[tuple[int, Rule, float]] = []
    for rule in in_rules:
        v = values.get(rule.key)
        if v is None or cooling(rule):
            return done(current, "unchanged: not every scale-in rule fires")
        asked = _asked(rule, current, inputs.ready, v)
        if rule.action.type == "TargetTracking" or rule.action.type == "ExactCount":
            if asked >= current:
                return done(current, "unchanged: not every scale-in rule fires")
        elif not fires(rule, v):
            return done(current, "unchanged: not every scale-in rule fires")
        in_votes.append((asked, rule, v))
    if not in_votes:
        return done(current, "unchanged: no rule fires")
    asked, rule, v = max(in_votes, key=lambda x: x[0])
    # Rules scale in to one at least: only the idle window takes a deployment to zero.
    floor = max(lo, asked, 1)
    if floor >= current:
        return done(current, "unchanged: at the smallest count rules scale in to")
    # Flapping guard: the largest step in that does not make a scale-out rule fire at once.
    for new in range(floor, current):
        if not _would_scale_out(profile, values, inputs.ready, new):
            return done(new, _why(rule, v, current, new), rule, v)
    return done(
        current, f"unchanged: scaling in to {floor} would trip a scale-out rule (flapping guard)"
    )


def _would_scale_out(profile: Profile, values: Mapping[str, float], ready: int, count: int) -> bool:
    for rule in profile.rules:
        v = values.get(rule.key)
        if v is None:
            continue
        projected = _project(rule, v, ready, count)
        if rule.action.type == "TargetTracking":
            if math.ceil(round(max(ready, 1) * v / rule.trigger.threshold, 6)) > count:
                return True
        elif rule.action.direction == "Increase" and _COMPARE[rule.trigger.operator](
            projected, rule.trigger.threshold
        ):
            return True
    return False


def _why(rule: Rule, value: float, old: int, new: int) -> str:
    t = rule.trigger
    op = {v: k for k, v in grammar.OPERATORS.items()}[t.operator]
    agg = {v: k for k, v in grammar.AGGREGATIONS.items()}.get(t.aggregation, t.aggregation)
    kind = "target" if rule.action.type == "TargetTracking" else "rule"
    return (
        f"{kind} {rule.index} ({t.metric} {op} {t.threshold:g} {agg} {t.window_s:g}s) saw "
        f"{value:.3g}: {old} → {new}"
    )
