"""Do two deployments answer the same? Pure comparison of two responses and mergeable statistics.

Used by the router's shadow pairing (live vs mirror, same request id) and by replay (candidate vs
recorded answer or another deployment). The report's field names are the contract (DESIGN §2):
``live``, ``shadow``, ``pairs``, ``exact_match_rate``, ``status_agreement_rate``,
``abs_diff_p50|p90|p99`` (numeric outputs, element-wise), ``live_latency_ms_p50|p99``,
``shadow_latency_ms_p50|p99``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

# Log-bucket histograms (sparse): bucket i ≥ 1 ends at LOW x GROWTH^(i-1); bucket 0 holds exact 0.
_GROWTH = 1.05
_LOG_GROWTH = math.log(_GROWTH)
_DIFF_LOW = 1e-12
_MS_LOW = 0.01
_MAX_LEAVES = 100_000  # element-wise diffs of one answer considered at most


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of comparing one pair of answers.

    ``diffs`` holds the element-wise absolute differences of numeric leaves when both answers are
    JSON of the same shape, else None.
    """

    status_agrees: bool
    exact: bool
    diffs: tuple[float, ...] | None


def _parse(body: bytes) -> tuple[bool, Any]:
    try:
        return True, json.loads(body)
    except ValueError:
        return False, None


def _leaves(a: Any, b: Any, out: list[float]) -> bool:
    """Walk ``a`` and ``b`` together; append |a-b| of numeric leaves; False when shapes differ."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        if len(out) < _MAX_LEAVES:
            diff = abs(float(a) - float(b))
            out.append(diff if math.isfinite(diff) else math.inf)
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_leaves(x, y, out) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_leaves(a[k], b[k], out) for k in a)
    return type(a) is type(b)


def compare(
    live_status: int, live_body: bytes, shadow_status: int, shadow_body: bytes
) -> Comparison:
    """Compare a live answer with its shadow (or recorded) twin.

    Exact match: same status and equal bodies (as JSON values when both are JSON, else as bytes).
    """
    status_agrees = live_status == shadow_status
    live_ok, live_value = _parse(live_body)
    shadow_ok, shadow_value = _parse(shadow_body)
    if not (live_ok and shadow_ok):
        return Comparison(status_agrees, status_agrees and live_body == shadow_body, None)
    diffs: list[float] = []
    same_shape = _leaves(live_value, shadow_value, diffs)
    exact = status_agrees and live_value == shadow_value
    return Comparison(status_agrees, exact, tuple(diffs) if same_shape and diffs else None)


def _bucket(value: float, low: float) -> int:
    if value <= 0.0:
        return 0
    if not math.isfinite(value):
        return 10_000
    if value <= low:
        return 1
    return 1 + math.ceil(math.log(value / low) / _LOG_GROWTH)


def _upper(index: int, low: float) -> float:
    if index == 0:
        return 0.0
    if index >= 10_000:
        return math.inf
    return low * _GROWTH ** (index - 1)


def _add(hist: dict[int, int], index: int, count: int = 1) -> None:
    hist[index] = hist.get(index, 0) + count


def hist_percentile(hist: dict[int, int], pct: float, low: float) -> float | None:
    """The ``pct`` percentile of a sparse log histogram (upper bucket bound, within 5 %)."""
    total = sum(hist.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(total * pct / 100.0))
    running = 0
    for index in sorted(hist):
        running += hist[index]
        if running >= rank:
            return _upper(index, low)
    return _upper(max(hist), low)


@dataclass
class AgreementStats:
    """Mergeable counts and histograms for one (live, shadow) pair of deployments."""

    pairs: int = 0
    exact: int = 0
    status_agree: int = 0
    numeric_pairs: int = 0
    diff_hist: dict[int, int] = field(default_factory=dict)
    live_ms: dict[int, int] = field(default_factory=dict)
    shadow_ms: dict[int, int] = field(default_factory=dict)

    def add(self, comparison: Comparison, live_ms: float, shadow_ms: float) -> None:
        """Count one compared pair."""
        self.pairs += 1
        self.exact += comparison.exact
        self.status_agree += comparison.status_agrees
        if comparison.diffs is not None:
            self.numeric_pairs += 1
            for diff in comparison.diffs:
                _add(self.diff_hist, _bucket(diff, _DIFF_LOW))
        _add(self.live_ms, _bucket(live_ms, _MS_LOW))
        _add(self.shadow_ms, _bucket(shadow_ms, _MS_LOW))

    def merge(self, other: AgreementStats) -> None:
        self.pairs += other.pairs
        self.exact += other.exact
        self.status_agree += other.status_agree
        self.numeric_pairs += other.numeric_pairs
        for mine, theirs in (
            (self.diff_hist, other.diff_hist),
            (self.live_ms, other.live_ms),
            (self.shadow_ms, other.shadow_ms),
        ):
            for index, count in theirs.items():
                _add(mine, index, count)

    def to_json(self) -> str:
        return json.dumps(
            {
                "pairs": self.pairs,
                "exact": self.exact,
                "status_agree": self.status_agree,
                "numeric_pairs": self.numeric_pairs,
                "diff_hist": self.diff_hist,
                "live_ms": self.live_ms,
                "shadow_ms": self.shadow_ms,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> AgreementStats:
        raw = json.loads(text)

        def hist(name: str) -> dict[int, int]:
            return {int(k): int(v) for k, v in dict(raw.get(name) or {}).items()}

        return cls(
            pairs=int(raw.get("pairs", 0)),
            exact=int(raw.get("exact", 0)),
            status_agree=int(raw.get("status_agree", 0)),
            numeric_pairs=int(raw.get("numeric_pairs", 0)),
            diff_hist=hist("diff_hist"),
            live_ms=hist("live_ms"),
            shadow_ms=hist("shadow_ms"),
        )

    @property
    def exact_match_rate(self) -> float | None:
        return self.exact / self.pairs if self.pairs else None

    def report(self, live: str, shadow: str) -> dict[str, Any]:
        """The report object of DESIGN §2 (rates 0-1; null where there is nothing to measure)."""

        def ms(hist: dict[int, int], pct: float) -> float | None:
            value = hist_percentile(hist, pct, _MS_LOW)
            return round(value, 3) if value is not None else None

        return {
            "live": live,
            "shadow": shadow,
            "pairs": self.pairs,
            "exact_match_rate": self.exact_match_rate,
            "status_agreement_rate": self.status_agree / self.pairs if self.pairs else None,
            "numeric_pairs": self.numeric_pairs,
            "abs_diff_p50": hist_percentile(self.diff_hist, 50, _DIFF_LOW),
            "abs_diff_p90": hist_percentile(self.diff_hist, 90, _DIFF_LOW),
            "abs_diff_p99": hist_percentile(self.diff_hist, 99, _DIFF_LOW),
            "live_latency_ms_p50": ms(self.live_ms, 50),
            "live_latency_ms_p99": ms(self.live_ms, 99),
            "shadow_latency_ms_p50": ms(self.shadow_ms, 50),
            "shadow_latency_ms_p99": ms(self.shadow_ms, 99),
        }
