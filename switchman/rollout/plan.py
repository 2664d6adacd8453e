"""The rollout state machine: a pure function of (state, clock, observation) → next state + actions.

Phases: ``waiting`` (the target is not ready yet) → ``shadow`` (only with ``min_agreement``: the
target gets a mirror copy; traffic unchanged) → ``step`` 0..n-1 (the target holds ``steps[i]``% of
live traffic) → ``succeeded``. A breach at any phase → ``rolled_back`` (the split from before the
rollout is restored); ``cancel`` → ``cancelled`` (restored too). A gate that lacks data at the end
of a bake keeps the bake going (the verdict says what it waits for); a breach ends the bake at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from switchman.rollout.gate import Gates, Observation, verdict

ACTIVE = ("waiting", "shadow", "step")
TERMINAL = ("succeeded", "rolled_back", "cancelled", "failed")


class PlanError(ValueError):
    """A rollout cannot start from this endpoint's state (the message says why and what to do)."""


def split(previous: dict[str, int], to: str, percent: int) -> dict[str, int]:
    """``to`` at ``percent``; the others keep their proportions of the rest (largest remainder)."""
    others = {k: v for k, v in previous.items() if k != to and v > 0}
    rest = 100 - percent
    total = sum(others.values())
    if rest > 0 and total == 0:
        raise PlanError(
            f"no other deployment has live traffic to keep {rest}% of it; give the current "
            'deployment traffic first (e.g. --traffic "blue=100")'
        )
    out = dict.fromkeys(previous, 0)
    out[to] = percent
    if rest == 0:
        return out
    shares = {k: rest * v / total for k, v in others.items()}
    floors = {k: math.floor(s) for k, s in shares.items()}
    left = rest - sum(floors.values())
    for name in sorted(shares, key=lambda k: (floors[k] - shares[k], k))[:left]:
        floors[name] += 1
    out.update(floors)
    return out


@dataclass(frozen=True)
class RolloutState:
    """One rollout of one endpoint, as stored (``as_dict``/``from_dict``) and shown."""

    endpoint: str
    to: str
    steps: tuple[int, ...]
    bake_s: float
    gates: Gates
    mirror_percent: int
    previous_traffic: dict[str, int]
    previous_mirror: dict[str, int]
    phase: str = "waiting"
    step: int = -1  # index into steps while phase == "step"
    phase_started: float = 0.0
    started: float = 0.0
    updated: float = 0.0
    reason: str = ""
    origin: str = "cli"
    spec_hash: str = ""
    last_verdict: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE

    @property
    def current_percent(self) -> int:
        """The target's share at the current (or last reached) step; 0 before the first."""
        return self.steps[self.step] if self.step >= 0 else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "to": self.to,
            "steps": list(self.steps),
            "bake_s": self.bake_s,
            "max_error_rate": self.gates.max_error_rate,
            "max_p99_ms": self.gates.max_p99_ms,
            "min_agreement": self.gates.min_agreement,
            "min_requests": self.gates.min_requests,
            "mirror_percent": self.mirror_percent,
            "previous_traffic": self.previous_traffic,
            "previous_mirror": self.previous_mirror,
            "state": self.phase,
            "step": self.step,
            "percent": self.current_percent,
            "phase_started": self.phase_started,
            "started": self.started,
            "updated": self.updated,
            "reason": self.reason,
            "origin": self.origin,
            "spec_hash": self.spec_hash,
            "last_verdict": self.last_verdict,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RolloutState:
        return cls(
            endpoint=str(raw["endpoint"]),
            to=str(raw["to"]),
            steps=tuple(int(s) for s in raw["steps"]),
            bake_s=float(raw["bake_s"]),
            gates=Gates(
                max_error_rate=raw.get("max_error_rate"),
                max_p99_ms=raw.get("max_p99_ms"),
                min_agreement=raw.get("min_agreement"),
                min_requests=int(raw.get("min_requests", 10)),
            ),
            mirror_percent=int(raw.get("mirror_percent", 50)),
            previous_traffic={str(k): int(v) for k, v in raw["previous_traffic"].items()},
            previous_mirror={str(k): int(v) for k, v in raw.get("previous_mirror", {}).items()},
            phase=str(raw.get("state", "waiting")),
            step=int(raw.get("step", -1)),
            phase_started=float(raw.get("phase_started", 0.0)),
            started=float(raw.get("started", 0.0)),
            updated=float(raw.get("updated", 0.0)),
            reason=str(raw.get("reason", "")),
            origin=str(raw.get("origin", "cli")),
            spec_hash=str(raw.get("spec_hash", "")),
            last_verdict=dict(raw.get("last_verdict") or {}),
        )


@dataclass(frozen=True)
class Decision:
    """What the driver applies: the new state, then traffic/mirror (None: leave), then events."""

    state: RolloutState
    traffic: dict[str, int] | None = None
    mirror: dict[str, int] | None = None
    events: tuple[tuple[str, str], ...] = ()


def _enter_step(state: RolloutState, index: int, now: float) -> Decision:
    percent = state.steps[index]
    new = replace(state, phase="step", step=index, phase_started=now, updated=now)
    mirror = {k: v for k, v in state.previous_mirror.items() if k != state.to}
    return Decision(
        new,
        traffic=split(state.previous_traffic, state.to, percent),
        mirror=mirror,
        events=(
            (
                "RolloutStep",
                f"Rollout of {state.to}: step {index + 1}/{len(state.steps)}, {percent}% of live "
                f"traffic; baking {state.bake_s:g} s",
            ),
        ),
    )


def _start(state: RolloutState, now: float) -> Decision:
    if state.gates.min_agreement is None:
        return _enter_step(state, 0, now)
    new = replace(state, phase="shadow", step=-1, phase_started=now, updated=now)
    others = {k: v for k, v in state.previous_mirror.items() if k != state.to}
    return Decision(
        new,
        mirror={**dict.fromkeys(others, 0), state.to: state.mirror_percent},
        events=(
            (
                "RolloutShadow",
                f"Rollout of {state.to}: shadow step, {state.mirror_percent}% of requests "
                f"mirrored; baking {state.bake_s:g} s",
            ),
        ),
    )


def _restore(state: RolloutState, phase: str, reason: str, now: float) -> Decision:
    new = replace(state, phase=phase, reason=reason, updated=now)
    name = "RolloutRolledBack" if phase == "rolled_back" else "RolloutCancelled"
    return Decision(
        new,
        traffic=dict(state.previous_traffic),
        mirror=dict(state.previous_mirror),
        events=((name, f"Rollout of {state.to} {phase.replace('_', ' ')}: {reason}"),),
    )


def decide(
    state: RolloutState,
    now: float,
    seen: Observation,
    *,
    target_ready: bool,
    target_exists: bool = True,
    cancel: bool = False,
) -> Decision:
    """The next state of an active rollout (a terminal one is returned unchanged)."""
    if not state.active:
        return Decision(state)
    if cancel:
        return _restore(state, "cancelled", "cancelled by the user", now)
    if not target_exists:
        if state.phase == "waiting":
            new = replace(
                state, phase="failed", reason=f"deployment {state.to!r} is gone", updated=now
            )
            return Decision(new, events=(("RolloutFailed", new.reason),))
        return _restore(state, "rolled_back", f"deployment {state.to!r} disappeared", now)
    if state.phase == "waiting":
        return _start(state, now) if target_ready else Decision(state)
    shadow = state.phase == "shadow"
    result = verdict(state.gates, seen, shadow=shadow)
    record = {"outcome": result.outcome, "reason": result.reason, **seen.as_dict(), "at": now}
    where = "the shadow step" if shadow else f"step {state.step + 1} ({state.current_percent}%)"
    if result.outcome == "fail":
        decision = _restore(
            replace(state, last_verdict=record), "rolled_back", f"{where}: {result.reason}", now
        )
        return replace(
            decision,
            events=(("RolloutVerdict", f"fail at {where}: {result.reason}"), *decision.events),
        )
    if now - state.phase_started < state.bake_s:
        return Decision(replace(state, last_verdict=record))
    if result.outcome == "wait":
        return Decision(replace(state, last_verdict=record, updated=now))
    passed = ("RolloutVerdict", f"pass at {where}: {result.reason}")
    last = state.step + 1 >= len(state.steps)
    if not shadow and last:
        new = replace(
            state, phase="succeeded", reason=result.reason, last_verdict=record, updated=now
        )
        return Decision(
            new,
            events=(
                passed,
                ("RolloutSucceeded", f"Rollout of {state.to} reached {state.current_percent}%"),
            ),
        )
    nxt = _enter_step(replace(state, last_verdict=record), state.step + 1, now)
    return replace(nxt, events=(passed, *nxt.events))
