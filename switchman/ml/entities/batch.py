"""Batch endpoints and deployments on ``BatchEndpointSpec`` / ``BatchDeploymentSpec``, and the jobs
they run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import Field

from switchman.ml.entities._base import Entity
from switchman.ml.entities.asset import Environment, Model, reference
from switchman.ml.entities.deployment import CodeConfiguration
from switchman.spec.batch import (
    BatchDeploymentSpec,
    BatchEndpointDefaults,
    BatchEndpointSpec,
    BatchResources,
    BatchSettings,
    RetrySettings,
)

J = TypeVar("J", bound="Job")
BD = TypeVar("BD", bound="BatchDeployment")


class BatchEndpoint(Entity, BatchEndpointSpec):
    """``BatchEndpoint(name=..., description=...)``; ``endpoint.defaults.deployment_name = "d"``
    and ``begin_create_or_update(endpoint)`` again changes the default deployment.

    CLI: ``switchman batch-endpoint create -n NAME``.
    """

    scoring_uri: str | None = Field(default=None, exclude=True, description="Read-only.")
    provisioning_state: str | None = Field(default=None, exclude=True, description="Read-only.")
    id: str | None = Field(default=None, exclude=True, description="Read-only: resource id.")
    properties: dict[str, Any] | None = Field(default=None, exclude=True, description="Read-only.")
    location: str | None = Field(default=None, exclude=True, description="Read-only.")

    @classmethod
    def _adapt(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        default = kwargs.pop("default_deployment_name", None)
        if default is not None:
            kwargs["defaults"] = {**dict(kwargs.get("defaults") or {}), "deployment_name": default}
        return kwargs

    @property
    def default_deployment_name(self) -> str | None:
        return self.defaults.deployment_name

    @default_deployment_name.setter
    def default_deployment_name(self, value: str | None) -> None:
        self.defaults = BatchEndpointDefaults(deployment_name=value)


class BatchRetrySettings(Entity, RetrySettings):
    """``BatchRetrySettings(max_retries=3, timeout=30)``: retries of a mini-batch after its first try."""


class ModelBatchDeploymentSettings(Entity, BatchSettings):
    """``ModelBatchDeploymentSettings(mini_batch_size=10, max_concurrency_per_instance=2,
    output_action=BatchDeploymentOutputAction.APPEND_ROW, output_file_name="predictions.csv",
    retry_settings=BatchRetrySettings(...), logging_level="info")``."""

    retry_settings: BatchRetrySettings = Field(
        default_factory=BatchRetrySettings, description="Retries."
    )


class ResourceConfiguration(Entity, BatchResources):
    """``ResourceConfiguration(instance_count=2)``: nodes per job."""


class BatchDeployment(Entity, BatchDeploymentSpec):
    """A batch deployment. azure-ai-ml's flat arguments (``mini_batch_size``, ``instance_count``,
    ``output_action``...) are accepted and land in ``settings`` / ``resources``.

    CLI: ``switchman batch-deployment create -f deployment.yml [--set-default]``.
    """

    model: str | Model = Field(description="azureml:<name>:<version>, or a Model.")
    environment: str | Environment | None = Field(
        default=None, description="Registered, curated, or an Environment."
    )
    code_configuration: CodeConfiguration | None = Field(
        default=None, description="Scoring script; not needed for MLflow models."
    )
    resources: ResourceConfiguration = Field(
        default_factory=ResourceConfiguration, description="Nodes."
    )
    settings: ModelBatchDeploymentSettings = Field(
        default_factory=ModelBatchDeploymentSettings, description="Job settings."
    )
    provisioning_state: str | None = Field(default=None, exclude=True, description="Read-only.")
    id: str | None = Field(default=None, exclude=True, description="Read-only: resource id.")
    properties: dict[str, Any] | None = Field(default=None, exclude=True, description="Read-only.")

    @classmethod
    def _from_rest(cls: type[BD], view: dict[str, Any]) -> BD:
        # A view shows resources.instance_count even when settings.instance_count set it; the
        # spec takes one of them, so keep the one the user gave.
        settings = view.get("settings") or {}
        resources = view.get("resources") or {}
        if settings.get("instance_count") is not None and "instance_count" in resources:
            view = {
                **view,
                "resources": {k: v for k, v in resources.items() if k != "instance_count"},
            }
        return super()._from_rest(view)

    @classmethod
    def _adapt(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        code_path = kwargs.pop("code_path", None)
        script = kwargs.pop("scoring_script", None)
        if code_path is not None or script is not None:
            kwargs["code_configuration"] = CodeConfiguration(code=code_path, scoring_script=script)
        endpoint = kwargs.pop("endpoint", None)  # ModelBatchDeployment's name for endpoint_name
        if endpoint is not None:
            kwargs.setdefault("endpoint_name", endpoint)
        count = kwargs.pop("instance_count", None)
        if count is not None:
            resources = kwargs.get("resources")
            if isinstance(resources, BatchResources):
                resources = resources.model_dump(exclude_unset=True)
            kwargs["resources"] = {**dict(resources or {}), "instance_count": count}
        if isinstance(kwargs.get("settings"), BatchSettings) and kwargs.get("type") is None:
            kwargs["type"] = "model"
        return kwargs

    def _references(self, document: dict[str, Any]) -> dict[str, Any]:
        for key in ("model", "environment"):
            value = getattr(self, key)
            ref = reference(value) if isinstance(value, Model | Environment) else None
            if ref is not None:
                document[key] = ref
        return document

    @property
    def instance_count(self) -> int:
        return self.settings.instance_count or self.resources.instance_count

    @property
    def mini_batch_size(self) -> int:
        return self.settings.mini_batch_size

    @property
    def output_file_name(self) -> str:
        return self.settings.output_file_name


class ModelBatchDeployment(BatchDeployment):
    """``ModelBatchDeployment(name=..., endpoint_name=..., model=..., code_configuration=...,
    environment=..., compute="batch-cluster", settings=ModelBatchDeploymentSettings(...))``."""

    @classmethod
    def _adapt(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("type", "model")
        return super()._adapt(kwargs)


class SystemData:
    """Who made a resource and when (azure-ai-ml's ``SystemData``): datetimes, not strings."""

    def __init__(self, **fields: Any) -> None:
        self.created_by: str | None = fields.get("created_by")
        self.created_at: datetime | None = _when(fields.get("created_at"))
        self.last_modified_by: str | None = fields.get("last_modified_by", self.created_by)
        self.last_modified_at: datetime | None = (
            _when(fields.get("last_modified_at")) or self.created_at
        )

    def __repr__(self) -> str:
        return f"SystemData(created_at={self.created_at!r}, created_by={self.created_by!r})"


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


class Job:
    """A job as the platform reports it: ``name``, ``status``, and the rest of its document as
    attributes (``job.outputs``, ``job.creation_context``...).

    CLI: ``switchman job show -n NAME``.
    """

    def __init__(self, **fields: Any) -> None:
        self._fields = dict(fields)
        self.name: str | None = fields.get("name")
        self.status: str | None = fields.get("status")
        self.display_name: str | None = fields.get("display_name", self.name)
        self.type: str | None = fields.get("type", "batch")
        self.id: str | None = fields.get("id")
        context = dict(fields.get("creation_context") or {})
        # The job's last change is its end (or start): what `duration` arithmetic expects.
        context.setdefault("last_modified_at", fields.get("end_time") or fields.get("start_time"))
        self.creation_context = SystemData(**context)
        self.outputs: dict[str, Any] = dict(fields.get("outputs") or {})
        self.inputs: dict[str, Any] = dict(fields.get("inputs") or {})

    @classmethod
    def _from_rest(cls: type[J], view: dict[str, Any]) -> J:
        return cls(**view)

    def __getattr__(self, name: str) -> Any:
        fields = self.__dict__.get("_fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def _to_dict(self) -> dict[str, Any]:
        return dict(self._fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, status={self.status!r})"


class BatchJob(Job):
    """A batch scoring job started by ``batch_endpoints.invoke``."""
