"""The ``load_*`` functions: read the same YAML files as the CLI into entities.

Relative paths in a file resolve against the file's folder (``relative_origin`` overrides it);
``params_override=[{"instance_count": 2}, {"request_settings.request_timeout_ms": 9000}]`` is
applied before validation, like the CLI's ``--set``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from switchman.errors import SwitchmanError
from switchman.ml.entities._base import raw_validation_errors
from switchman.ml.entities.asset import Data, Environment, Model
from switchman.ml.entities.batch import BatchDeployment, BatchEndpoint, ModelBatchDeployment
from switchman.ml.entities.compute import AmlCompute
from switchman.ml.entities.deployment import (
    KubernetesOnlineDeployment,
    ManagedOnlineDeployment,
    OnlineDeployment,
)
from switchman.ml.entities.endpoint import (
    KubernetesOnlineEndpoint,
    ManagedOnlineEndpoint,
    OnlineEndpoint,
)
from switchman.ml.exceptions import ValidationException
from switchman.spec.loader import absolute, apply_set, read_yaml, resolve_paths, validate

T = TypeVar("T", bound=BaseModel)
Source = str | Path


def _load(
    cls: type[T],
    source: Source,
    relative_origin: str | None,
    params_override: list[dict[str, Any]] | None,
) -> tuple[T, Path]:
    try:
        data, node = read_yaml(source)
        for override in params_override or []:
            apply_set(data, [(key.split("."), value) for key, value in override.items()])
        with raw_validation_errors():
            entity = validate(cls, data, source=str(source), node=node)
    except SwitchmanError as exc:
        raise ValidationException(exc.message) from None
    folder = Path(relative_origin) if relative_origin else Path(source).resolve().parent
    return resolve_paths(entity, folder), folder


def load_online_endpoint(
    source: Source,
    *,
    relative_origin: str | None = None,
    params_override: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> OnlineEndpoint:
    """An online endpoint from ``endpoint.yml`` (a KubernetesOnlineEndpoint when it names a
    ``compute``). CLI: ``switchman online-endpoint create -f endpoint.yml``."""
    endpoint, _ = _load(ManagedOnlineEndpoint, source, relative_origin, params_override)
    if endpoint.compute:
        return KubernetesOnlineEndpoint._from_rest(endpoint._to_dict())
    return endpoint


def load_online_deployment(
    source: Source,
    *,
    relative_origin: str | None = None,
    params_override: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> OnlineDeployment:
    """An online deployment from ``deployment.yml``.
    CLI: ``switchman online-deployment create -f deployment.yml``."""
    deployment, _ = _load(ManagedOnlineDeployment, source, relative_origin, params_override)
    if deployment.type == "kubernetes":
        return KubernetesOnlineDeployment._from_rest(deployment._to_dict())
    return deployment


def load_model(
    source: Source,
    *,
    relative_origin: str | None = None,
    params_override: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> Model:
    """A model from ``model.yml``. CLI: ``switchman model create -f model.yml``."""
    return _load(Model, source, relative_origin, params_override)[0]


def load_environment(
    source: Source,
    *,
    relative_origin: str | None = None,
    params_override: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> Environment:
    """An environment from ``environment.yml``. CLI: ``switchman environment create -f ...``."""
    return _load(Environment, source, relative_origin, params_override)[0]


def load_data(
    source: Source,
    *,
    relative_origin: str | None = None,
    params_override: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> Data:
    """A data asset from ``data.yml``. CLI: ``switchman data create -f data.yml``."""
    data, folder = _load(Data, source, relative_origin, params_override)
    if data.path:
        data.path = absolute(data.path, folder)
    return data


def load_batch_endpoint(
    source: Source,
    *,
    relative_origin: str | None = None,
    params_override: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> BatchEndpoint:
    """A batch endpoint from ``endpoint.yml``. CLI: ``switchman batch-endpoint create -f ...``."""
    return _load(BatchEndpoint, source, relative_origin, params_override)[0]


def load_batch_deployment(
    source: Source,
    *,
    relative_origin: str | None = None,
    params_override: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> BatchDeployment:
    """A batch deployment from ``deployment.yml`` (a ModelBatchDeployment for ``type: model``).
    CLI: ``switchman batch-deployment create -f deployment.yml``."""
    deployment, folder = _load(BatchDeployment, source, relative_origin, params_override)
    if deployment.code_configuration and deployment.code_configuration.code:
        deployment.code_configuration.code = absolute(deployment.code_configuration.code, folder)
    if isinstance(deployment.model, Model):
        resolve_paths(deployment.model, folder)
    if isinstance(deployment.environment, Environment):
        resolve_paths(deployment.environment, folder)
    if deployment.type == "model":
        return ModelBatchDeployment._from_rest(deployment._to_dict())
    return deployment


def load_compute(
    source: Source,
    *,
    relative_origin: str | None = None,
    params_override: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> AmlCompute:
    """A compute cluster from ``compute.yml``. CLI: ``switchman compute create -f compute.yml``."""
    return _load(AmlCompute, source, relative_origin, params_override)[0]
