"""A gated progressive rollout (``rollout:`` on an endpoint, or `online-endpoint rollout` flags)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from switchman.spec.base import SpecModel

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_S = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any, field: str = "bake") -> float:
    """``60s`` / ``2m`` / ``500ms`` / a number of seconds → seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{field} {value!r} is not a duration: use e.g. 60s, 2m, 500ms or 30")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


class RolloutSpec(SpecModel):
    """Step ``to``'s share of live traffic through ``steps``, baking and checking gates at each."""

    to: str = Field(description="The deployment that receives traffic step by step.")
    steps: list[int] = Field(
        default_factory=lambda: [10, 25, 50, 100],
        min_length=1,
        description="Percent of live traffic at each step, increasing, each 1-100.",
    )
    bake: float = Field(default=60.0, gt=0, description="Seconds (or 60s, 2m) to watch each step.")
    max_error_rate: float | None = Field(
        default=None, ge=0, le=100, description="Percent of the target's requests that may fail."
    )
    max_p99_ms: float | None = Field(
        default=None, gt=0, description="Highest p99 latency (ms) of the target's requests."
    )
    min_agreement: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Percent of mirrored answers that must match the live ones (adds a shadow step).",
    )
    min_requests: int = Field(
        default=10, ge=1, description="Requests (or answer pairs) a gate needs before it can pass."
    )
    mirror_percent: int = Field(
        default=50, ge=1, le=50, description="Mirrored share during the shadow step."
    )

    @field_validator("bake", mode="before")
    @classmethod
    def _bake_seconds(cls, value: Any) -> Any:
        return parse_duration(value)

    @field_validator("steps", mode="before")
    @classmethod
    def _steps_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return [int(part) for part in value.replace(" ", "").split(",") if part]
            except ValueError:
                raise ValueError(
                    f"steps {value!r} must be comma-separated percentages, e.g. 10,25,50,100"
                ) from None
        return value

    @model_validator(mode="after")
    def _increasing(self) -> RolloutSpec:
        last = 0
        for step in self.steps:
            if not 1 <= step <= 100 or step <= last:
                raise ValueError(
                    f"steps {','.join(map(str, self.steps))} must increase, each between 1 and "
                    "100, e.g. 10,25,50,100"
                )
            last = step
        return self
