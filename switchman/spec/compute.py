"""The ``amlCompute`` YAML kind: a compute cluster that batch jobs run on (issue 10).

A cluster has between ``min_instances`` and ``max_instances`` nodes of one ``size``; nodes are
provisioned on the compute backend when a job needs them and released after
``idle_time_before_scale_down`` seconds without work.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from switchman.spec.base import TopLevelSpec

COMPUTE_NAME = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]{1,22}[a-zA-Z0-9]$")
MAX_NODES = 100


class AmlComputeSpec(TopLevelSpec):
    name: str = Field(description="Cluster name: 3-24 chars, letters, digits and '-'.")
    type: Literal["amlcompute"] = Field(default="amlcompute", description="amlcompute.")
    description: str | None = Field(default=None, description="Free text.")
    tags: dict[str, str] = Field(default_factory=dict, description="Key/value tags.")
    size: str = Field(default="Standard_DS3_v2", description="VM size (SKU) of every node.")
    min_instances: int = Field(default=0, ge=0, le=MAX_NODES, description="Nodes kept when idle.")
    max_instances: int = Field(default=1, ge=1, le=MAX_NODES, description="Most nodes at once.")
    idle_time_before_scale_down: int = Field(
        default=120, ge=0, description="Seconds a node stays idle before it is released."
    )
    tier: Literal["dedicated", "low_priority"] = Field(
        default="dedicated", description="Recorded only."
    )
    location: str | None = Field(default=None, description="Recorded only.")
    identity: dict[str, Any] | None = Field(default=None, description="Recorded only.")
    ssh_public_access_enabled: bool | None = Field(default=None, description="Recorded only.")
    ssh_settings: dict[str, Any] | None = Field(default=None, description="Recorded only.")
    network_settings: dict[str, Any] | None = Field(default=None, description="Recorded only.")
    enable_node_public_ip: bool | None = Field(default=None, description="Recorded only.")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not COMPUTE_NAME.match(value):
            raise ValueError(
                "a compute name must be 3-24 characters, start with a letter, end with a letter or "
                f"digit and hold only letters, digits and '-', got {value!r}"
            )
        return value

    @field_validator("type", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _bounds(self) -> AmlComputeSpec:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances ({self.min_instances}) is above max_instances "
                f"({self.max_instances}); lower min_instances or raise max_instances"
            )
        return self
