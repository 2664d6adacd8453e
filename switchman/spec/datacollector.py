"""A deployment's ``data_collector`` (reference §3.6): payload capture and custom logging.

``request``/``response`` are captured by the router; any other collection name (``model_inputs``,
``model_outputs``, ...) is written by ``Collector(name=...)`` calls in the scoring script.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from switchman.spec.base import SpecModel

PAYLOAD_COLLECTIONS = ("request", "response")
RollingRate = Literal["minute", "hour", "day"]


def _flag(value: Any) -> Any:
    # Azure ML writes enabled as the strings 'True'/'False'; YAML may give a real bool.
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


class CollectionData(SpecModel):
    name: str | None = Field(
        default=None, description="Data asset name (default <endpoint>-<deployment>-<collection>)."
    )
    path: str | None = Field(default=None, description="Where Azure ML would store it (recorded).")
    version: int | str | None = Field(default=None, description="Data asset version (recorded).")


class Collection(SpecModel):
    enabled: bool = Field(default=False, description="'True' to collect this collection.")
    sampling_rate: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Share of requests kept (default: the top one)."
    )
    data: CollectionData | None = Field(default=None, description="Data asset settings.")
    client_id: str | None = Field(default=None, description="Identity for writing (recorded).")

    @field_validator("enabled", mode="before")
    @classmethod
    def _enabled_text(cls, value: Any) -> Any:
        return _flag(value)


class RequestLogging(SpecModel):
    capture_headers: list[str] = Field(
        default_factory=list, description="Request headers copied into `request` records."
    )


class DataCollectorSpec(SpecModel):
    """What to collect, how often, and how files roll."""

    sampling_rate: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Share of requests kept, 0.0-1.0."
    )
    rolling_rate: RollingRate = Field(
        default="hour", description="minute, hour or day: how often a new file starts."
    )
    collections: dict[str, Collection] = Field(
        default_factory=dict, description="Collection name → settings."
    )
    request_logging: RequestLogging | None = Field(
        default=None, description="Extra request headers to record."
    )

    @field_validator("rolling_rate", mode="before")
    @classmethod
    def _rolling_lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _names(self) -> DataCollectorSpec:
        for name in self.collections:
            if not name or not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(
                    f"data_collector.collections has a bad name {name!r}: use letters, digits, "
                    "'_' or '-' (e.g. model_inputs)"
                )
        return self

    def rate(self, collection: str) -> float:
        """The sampling rate that applies to ``collection`` (0.0 when it is not enabled)."""
        found = self.collections.get(collection)
        if found is None or not found.enabled:
            return 0.0
        return self.sampling_rate if found.sampling_rate is None else found.sampling_rate

    def settings(self) -> dict[str, Any]:
        """The compact form the router and the instances get: enabled collections and rates."""
        return {
            "rolling_rate": self.rolling_rate,
            "collections": {
                name: self.rate(name) for name in self.collections if self.rate(name) > 0
            },
            "capture_headers": list(self.request_logging.capture_headers)
            if self.request_logging
            else [],
        }
