"""Online deployments: ``ManagedOnlineDeployment`` and its parts on ``OnlineDeploymentSpec``."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from switchman.ml.entities._base import Entity
from switchman.ml.entities.asset import Environment, Model, reference
from switchman.spec.deployment import CodeConfiguration as CodeConfigurationSpec
from switchman.spec.deployment import OnlineDeploymentSpec, RequestSettings
from switchman.spec.deployment import ProbeSettings as ProbeSettingsSpec


class CodeConfiguration(Entity, CodeConfigurationSpec):
    """``CodeConfiguration(code="onlinescoring/", scoring_script="score.py")``."""

    def __init__(
        self, code: str | None = None, scoring_script: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(code=code, scoring_script=scoring_script, **kwargs)


class OnlineRequestSettings(Entity, RequestSettings):
    """``OnlineRequestSettings(request_timeout_ms=..., max_concurrent_requests_per_instance=...)``."""


class ProbeSettings(Entity, ProbeSettingsSpec):
    """``ProbeSettings(initial_delay=..., period=..., timeout=..., failure_threshold=...)``."""


class OnlineDeployment(Entity, OnlineDeploymentSpec):
    """An online deployment. Change it (``deployment.instance_count = 2``) and call
    ``ml_client.online_deployments.begin_create_or_update(deployment)`` again to roll the update.

    CLI: ``switchman online-deployment create -f deployment.yml`` / ``update --set instance_count=2``.
    """

    model: str | Model | None = Field(
        default=None, description="azureml:<name>:<version>, or a Model."
    )
    environment: str | Environment | None = Field(
        default=None, description="azureml:<name>:<version>, a curated name, or an Environment."
    )
    code_configuration: CodeConfiguration | None = Field(default=None, description="Scoring code.")
    request_settings: OnlineRequestSettings = Field(
        default_factory=OnlineRequestSettings, description="Limits."
    )
    liveness_probe: ProbeSettings = Field(
        default_factory=ProbeSettings, description="Liveness probe."
    )
    readiness_probe: ProbeSettings = Field(
        default_factory=ProbeSettings, description="Readiness probe."
    )
    provisioning_state: str | None = Field(default=None, exclude=True, description="Read-only.")
    id: str | None = Field(default=None, exclude=True, description="Read-only: resource id.")
    properties: dict[str, Any] | None = Field(default=None, exclude=True, description="Read-only.")
    instances: list[dict[str, Any]] | None = Field(
        default=None, exclude=True, description="Read-only: the running instances."
    )

    @classmethod
    def _adapt(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        # azure-ai-ml also takes the code as code_path + scoring_script at the top level.
        code_path = kwargs.pop("code_path", None)
        script = kwargs.pop("scoring_script", None)
        if code_path is not None or script is not None:
            kwargs["code_configuration"] = CodeConfiguration(code=code_path, scoring_script=script)
        return kwargs

    def _references(self, document: dict[str, Any]) -> dict[str, Any]:
        for key in ("model", "environment"):
            value = getattr(self, key)
            ref = reference(value) if isinstance(value, Model | Environment) else None
            if ref is not None:
                document[key] = ref
        return document


class ManagedOnlineDeployment(OnlineDeployment):
    """``ManagedOnlineDeployment(name="blue", endpoint_name=..., model=Model(...),
    environment=Environment(...), code_configuration=CodeConfiguration(...),
    instance_type="Standard_DS3_v2", instance_count=1)``."""

    @classmethod
    def _adapt(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("type", "managed")
        return super()._adapt(kwargs)


class KubernetesOnlineDeployment(OnlineDeployment):
    """The Kubernetes shape (``resources`` instead of ``instance_type``); runs as managed."""

    @classmethod
    def _adapt(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("type", "kubernetes")
        return super()._adapt(kwargs)
