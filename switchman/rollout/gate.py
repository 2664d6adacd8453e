"""The rollout gates: a pure verdict on what the target deployment did during a bake.

Errors are the target's own failures: HTTP 5xx, 408 (timeout) and 424 (the model answered non-200).
429s are load shedding (capacity, not model health) and 4xx are the caller's; neither counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["pass", "fail", "wait"]


def is_error(status: int) -> bool:
    """Whether a response status counts against the target in the error-rate gate."""
    return status >= 500 or status in (408, 424)


@dataclass(frozen=True, slots=True)
class Gates:
    """Thresholds (None: gate off). Rates are percentages, as on the command line."""

    max_error_rate: float | None = None
    max_p99_ms: float | None = None
    min_agreement: float | None = None
    min_requests: int = 10


@dataclass(frozen=True, slots=True)
class Observation:
    """What the target did since the step began."""

    requests: int = 0
    errors: int = 0
    p99_ms: float | None = None
    pairs: int = 0
    agreement: float | None = None  # exact-match rate 0-1 of mirrored answers

    @property
    def error_rate(self) -> float | None:
        return 100.0 * self.errors / self.requests if self.requests else None

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "p99_ms": self.p99_ms,
            "pairs": self.pairs,
            "agreement": None if self.agreement is None else 100.0 * self.agreement,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def p99(latencies_ms: Iterable[float]) -> float | None:
    """Nearest-rank 99th percentile, None for no data."""
    ordered = sorted(latencies_ms)
    if not ordered:
        return None
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def verdict(gates: Gates, seen: Observation, *, shadow: bool) -> Verdict:
    """``fail`` when a gate with enough data is breached, ``wait`` when one still lacks data,
    else ``pass``. The agreement gate applies to the shadow step (``shadow=True``) only; the
    error and latency gates apply to every step (mirrored requests count in the shadow step)."""
    failures: list[str] = []
    waiting: list[str] = []
    passes: list[str] = []
    need = gates.min_requests
    if gates.max_error_rate is not None or gates.max_p99_ms is not None:
        if seen.requests < need:
            waiting.append(f"{seen.requests}/{need} requests seen")
        else:
            rate = seen.error_rate or 0.0
            if gates.max_error_rate is not None:
                text = f"error rate {rate:.2f}% (max {gates.max_error_rate:g}%)"
                (failures if rate > gates.max_error_rate else passes).append(text)
            if gates.max_p99_ms is not None and seen.p99_ms is not None:
                text = f"p99 {seen.p99_ms:.1f} ms (max {gates.max_p99_ms:g} ms)"
                (failures if seen.p99_ms > gates.max_p99_ms else passes).append(text)
    if shadow and gates.min_agreement is not None:
        if seen.pairs < need or seen.agreement is None:
            waiting.append(f"{seen.pairs}/{need} answer pairs compared")
        else:
            pct = 100.0 * seen.agreement
            text = f"agreement {pct:.2f}% (min {gates.min_agreement:g}%)"
            (failures if pct < gates.min_agreement else passes).append(text)
    if failures:
        return Verdict("fail", tuple(failures))
    if waiting:
        return Verdict("wait", tuple(waiting))
    return Verdict("pass", tuple(passes) or ("no gates set",))
