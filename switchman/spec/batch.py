"""The ``batchEndpoint`` and ``batchDeployment`` YAML kinds (reference §4.1, §4.2).

A batch deployment comes in two shapes: ``type: model`` with its knobs under ``settings``, and the
legacy ("classic") shape without ``type`` whose knobs sit at the root; both validate to the same
model, with the legacy keys moved under ``settings``. ``type: pipeline`` is refused: Switchman runs
model deployments only.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from switchman.spec.base import SpecModel, TopLevelSpec
from switchman.spec.deployment import CodeConfiguration
from switchman.spec.environment import EnvironmentSpec
from switchman.spec.model import ModelSpec
from switchman.spec.names import name_problem

MAX_INSTANCE_COUNT = 50
MAX_CONCURRENCY = 1000
# Keys the legacy shape keeps at the root; `type: model` keeps them under `settings`.
LEGACY_SETTINGS = (
    "mini_batch_size",
    "max_concurrency_per_instance",
    "output_action",
    "output_file_name",
    "retry_settings",
    "error_threshold",
    "logging_level",
    "environment_variables",
)


def _texts(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): "" if v is None else _text(v) for k, v in value.items()}
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class BatchEndpointDefaults(SpecModel):
    deployment_name: str | None = Field(
        default=None, description="The deployment a job runs on when the invoker names none."
    )


class BatchEndpointSpec(TopLevelSpec):
    """What a user owns of a batch endpoint."""

    name: str = Field(description="Endpoint name: 3-32 chars, letters, digits and '-'.")
    description: str | None = Field(default=None, description="Free text.")
    tags: dict[str, str] = Field(default_factory=dict, description="Key/value tags.")
    auth_mode: Literal["aad_token"] = Field(
        default="aad_token",
        description="Only aad_token: jobs are started with `switchman account get-access-token`.",
    )
    defaults: BatchEndpointDefaults = Field(
        default_factory=BatchEndpointDefaults, description="Default deployment."
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        problem = name_problem(value, "an endpoint")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_text(cls, value: Any) -> Any:
        return _texts(value)


class RetrySettings(SpecModel):
    max_retries: int = Field(
        default=3,
        ge=0,
        description="Retries of a failed or timed-out mini-batch after its first try.",
    )
    timeout: int = Field(default=30, ge=1, description="Seconds one run(mini_batch) may take.")


class BatchSettings(SpecModel):
    max_concurrency_per_instance: int = Field(
        default=1, ge=1, le=MAX_CONCURRENCY, description="Worker processes per node."
    )
    mini_batch_size: int = Field(default=10, ge=1, description="Files per run() call.")
    error_threshold: int = Field(
        default=-1,
        ge=-1,
        description="Failed items tolerated over the whole job; -1 ignores every failure.",
    )
    retry_settings: RetrySettings = Field(default_factory=RetrySettings, description="Retries.")
    output_action: Literal["append_row", "summary_only"] = Field(
        default="append_row", description="append_row writes output_file_name; summary_only none."
    )
    output_file_name: str = Field(
        default="predictions.csv", description="The output file (with append_row)."
    )
    logging_level: Literal["warning", "info", "debug"] = Field(
        default="info", description="Passed to the scoring script as --logging_level."
    )
    environment_variables: dict[str, str] = Field(
        default_factory=dict, description="Variables set in every worker of every job."
    )
    instance_count: int | None = Field(
        default=None, ge=1, le=MAX_INSTANCE_COUNT, description="Alternative to resources."
    )

    @field_validator("environment_variables", mode="before")
    @classmethod
    def _values_text(cls, value: Any) -> Any:
        return _texts(value)

    @field_validator("output_file_name")
    @classmethod
    def _plain_file(cls, value: str) -> str:
        if not value or "/" in value or "\\" in value or value in (".", ".."):
            raise ValueError(f"must be a plain file name like predictions.csv, got {value!r}")
        return value

    @field_validator("mini_batch_size", mode="before")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
            raise ValueError(
                f"mini_batch_size must be at least 1 (files per run() call), got {value}"
            )
        return value


class BatchResources(SpecModel):
    instance_count: int = Field(
        default=1, ge=1, le=MAX_INSTANCE_COUNT, description="Nodes per job."
    )
    instance_type: str | None = Field(
        default=None, description="Recorded; the cluster's size rules."
    )
    properties: dict[str, Any] | None = Field(default=None, description="Recorded only.")
    shm_size: str | None = Field(default=None, description="Recorded only.")
    max_instance_count: int | None = Field(default=None, ge=1, description="Recorded only.")
    locations: list[str] | None = Field(default=None, description="Recorded only.")


class BatchDeploymentSpec(TopLevelSpec):
    """What a user owns of a batch deployment (``type: model`` or the legacy shape)."""

    name: str = Field(description="Deployment name: 3-32 chars, letters, digits and '-'.")
    endpoint_name: str | None = Field(default=None, description="Endpoint it belongs to (or -e).")
    description: str | None = Field(default=None, description="Free text.")
    tags: dict[str, str] = Field(default_factory=dict, description="Key/value tags.")
    type: Literal["model"] | None = Field(
        default=None, description="model (absent: the legacy shape with settings at the root)."
    )
    model: str | ModelSpec = Field(
        description="azureml:<name>:<version>, azureml:<name>@latest, or an inline {name, path}."
    )
    code_configuration: CodeConfiguration | None = Field(
        default=None, description="Scoring script; not needed for MLflow models."
    )
    environment: str | EnvironmentSpec | None = Field(
        default=None, description="Registered, curated or inline environment."
    )
    compute: str = Field(description="The compute cluster: azureml:<cluster-name>.")
    resources: BatchResources = Field(default_factory=BatchResources, description="Nodes.")
    settings: BatchSettings = Field(default_factory=BatchSettings, description="Job settings.")

    @model_validator(mode="before")
    @classmethod
    def _shapes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kind = data.get("type")
        if kind == "pipeline" or "component" in data or "job_definition" in data:
            raise ValueError(
                "type: pipeline batch deployments are not supported by Switchman, which runs "
                "model deployments only; deploy the model with type: model (model, "
                "code_configuration, environment, compute, settings) instead"
            )
        root = [k for k in LEGACY_SETTINGS if k in data]
        if not root:
            return data
        if kind is not None:
            raise ValueError(
                f"{', '.join(root)} must sit under settings: in a type: {kind} deployment "
                "(only the legacy shape without type: keeps them at the root)"
            )
        data = dict(data)
        settings = dict(data.get("settings") or {})
        for key in root:
            settings[key] = data.pop(key)
        data["settings"] = settings
        return data

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        problem = name_problem(value, "a deployment")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_text(cls, value: Any) -> Any:
        return _texts(value)

    @field_validator("compute")
    @classmethod
    def _compute_ref(cls, value: str) -> str:
        if not compute_name(value):
            raise ValueError(
                f"must name a compute cluster as azureml:<cluster-name>, got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _one_instance_count(self) -> BatchDeploymentSpec:
        if self.settings.instance_count is not None and "instance_count" in (
            self.resources.model_fields_set
        ):
            raise ValueError(
                "instance_count is given in both resources and settings; keep one "
                "(resources.instance_count)"
            )
        return self

    @property
    def instance_count(self) -> int:
        return self.settings.instance_count or self.resources.instance_count


def compute_name(reference: str) -> str:
    """``azureml:batch-cluster`` (or an ARM-style id ending in /computes/<name>) → the name."""
    text = reference.strip()
    if text.startswith("azureml:"):
        text = text[len("azureml:") :]
    if "/computes/" in text:
        text = text.rsplit("/computes/", 1)[1]
    text = text.strip("/")
    return text if text and "/" not in text and ":" not in text else ""


def resolve_batch_paths(spec: BatchDeploymentSpec, folder: Any) -> BatchDeploymentSpec:
    """Make the deployment's local paths (code, inline model and environment) absolute, relative
    to ``folder`` (the YAML file's folder), as `az ml` does."""
    from switchman.spec.loader import absolute, resolve_paths

    if spec.code_configuration and spec.code_configuration.code:
        spec.code_configuration.code = absolute(spec.code_configuration.code, folder)
    if isinstance(spec.model, ModelSpec):
        resolve_paths(spec.model, folder)
    if isinstance(spec.environment, EnvironmentSpec):
        resolve_paths(spec.environment, folder)
    return spec
