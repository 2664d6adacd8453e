"""``AmlCompute``: a compute cluster for batch jobs, on ``AmlComputeSpec``."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from switchman.ml.entities._base import Entity
from switchman.spec.compute import AmlComputeSpec


class AmlCompute(Entity, AmlComputeSpec):
    """``AmlCompute(name="batch-cluster", size="Standard_DS3_v2", min_instances=0,
    max_instances=5, idle_time_before_scale_down=120)``.

    CLI: ``switchman compute create -n batch-cluster --type amlcompute --max-instances 5``.
    """

    provisioning_state: str | None = Field(default=None, exclude=True, description="Read-only.")
    id: str | None = Field(default=None, exclude=True, description="Read-only: resource id.")
    properties: dict[str, Any] | None = Field(default=None, exclude=True, description="Read-only.")
