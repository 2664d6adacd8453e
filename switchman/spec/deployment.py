"""The ``managedOnlineDeployment`` YAML kind (reference §3); the Kubernetes shape is accepted too."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from switchman.spec.base import SpecModel, TopLevelSpec
from switchman.spec.datacollector import DataCollectorSpec
from switchman.spec.environment import EnvironmentSpec
from switchman.spec.model import ModelSpec
from switchman.spec.names import name_problem

MAX_REQUEST_TIMEOUT_MS = 180_000
MAX_INSTANCES = 50


class CodeConfiguration(SpecModel):
    code: str | None = Field(default=None, description="Local folder with the scoring code.")
    scoring_script: str | None = Field(
        default=None, description="Scoring script, relative to `code` (may contain subfolders)."
    )


class RequestSettings(SpecModel):
    request_timeout_ms: int = Field(
        default=5000,
        ge=1,
        le=MAX_REQUEST_TIMEOUT_MS,
        description="Per-request budget; over it → 408.",
    )
    max_concurrent_requests_per_instance: int = Field(
        default=1, ge=1, le=1000, description="Requests one instance runs at once."
    )
    max_queue_wait_ms: int = Field(
        default=500, ge=0, description="Deprecated by Azure ML: raise request_timeout_ms instead."
    )


class ProbeSettings(SpecModel):
    initial_delay: int = Field(
        default=10, ge=1, description="Seconds after start before the first probe."
    )
    period: int = Field(default=10, ge=1, description="Seconds between probes.")
    timeout: int = Field(default=2, ge=1, description="Seconds a probe may take.")
    success_threshold: int = Field(
        default=1, ge=1, description="Successes to count as healthy again."
    )
    failure_threshold: int = Field(default=30, ge=1, description="Failures before acting.")


class ScaleSettings(SpecModel):
    type: Literal["default", "target_utilization"] = Field(
        default="default", description="Scale type."
    )
    min_instances: int | None = Field(default=None, ge=0, description="K8s autoscale floor.")
    max_instances: int | None = Field(default=None, ge=1, description="K8s autoscale ceiling.")
    target_utilization_percentage: int | None = Field(
        default=None, ge=1, le=100, description="CPU %."
    )
    polling_interval: int | None = Field(
        default=None, ge=1, description="Seconds between evaluations."
    )


class OnlineDeploymentSpec(TopLevelSpec):
    """What a user owns of an online deployment; the reconciler owns its status."""

    name: str = Field(description="Deployment name: 3-32 chars, letters, digits and '-'.")
    endpoint_name: str | None = Field(default=None, description="Endpoint it belongs to (or -e).")
    description: str | None = Field(default=None, description="Free text.")
    tags: dict[str, str] = Field(default_factory=dict, description="Key/value tags.")
    type: Literal["managed", "kubernetes"] | None = Field(
        default=None, description="managed or kubernetes."
    )
    model: str | ModelSpec | None = Field(
        default=None,
        description="azureml:<name>:<version>, azureml:<name>@latest, or an inline model.",
    )
    model_mount_path: str | None = Field(
        default=None, description="Where a custom container sees the model."
    )
    code_configuration: CodeConfiguration | None = Field(default=None, description="Scoring code.")
    environment: str | EnvironmentSpec | None = Field(
        default=None,
        description="azureml:<name>:<version>, a curated name, or an inline environment.",
    )
    environment_variables: dict[str, str] = Field(
        default_factory=dict, description="Variables set in every instance."
    )
    instance_type: str | None = Field(default=None, description="SKU, e.g. Standard_DS3_v2.")
    instance_count: int = Field(
        default=1, ge=0, le=MAX_INSTANCES, description="Number of instances."
    )
    app_insights_enabled: bool = Field(default=False, description="Recorded; metrics are built in.")
    scale_settings: ScaleSettings = Field(
        default_factory=ScaleSettings, description="Scale settings."
    )
    request_settings: RequestSettings = Field(
        default_factory=RequestSettings, description="Limits."
    )
    liveness_probe: ProbeSettings = Field(
        default_factory=ProbeSettings, description="Liveness probe."
    )
    readiness_probe: ProbeSettings = Field(
        default_factory=ProbeSettings, description="Readiness probe."
    )
    egress_public_network_access: Literal["enabled", "disabled"] = Field(
        default="enabled", description="Recorded only."
    )
    private_network_connection: bool | None = Field(default=None, description="Recorded only.")
    data_collector: DataCollectorSpec | None = Field(
        default=None, description="Payload capture and custom logging (reference §3.6)."
    )
    resources: dict[str, Any] | None = Field(
        default=None, description="Kubernetes requests/limits."
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        problem = name_problem(value, "a deployment")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("environment_variables", "tags", mode="before")
    @classmethod
    def _values_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): "" if v is None else _text(v) for k, v in value.items()}
        return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
