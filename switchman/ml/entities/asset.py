"""``Model``, ``Environment`` and ``Data``: registry entities on the ``model``, ``environment`` and
``data`` spec models."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from switchman.ml.entities._base import Entity
from switchman.spec.data import DataSpec
from switchman.spec.environment import BuildContext as BuildContextSpec
from switchman.spec.environment import EnvironmentSpec
from switchman.spec.model import ModelSpec


class Model(Entity, ModelSpec):
    """A model: ``Model(path="model/", name="my-model", type=AssetTypes.CUSTOM_MODEL)``.

    CLI: ``switchman model create -n my-model --path model/``.
    """

    id: str | None = Field(default=None, exclude=True, description="Read-only: resource id.")
    creation_context: dict[str, Any] | None = Field(
        default=None, exclude=True, description="Read-only: created_at, created_by."
    )
    properties: dict[str, Any] | None = Field(
        default=None, exclude=True, description="Accepted for azure-ai-ml; not stored."
    )


def reference(asset: Model | Environment | None) -> str | None:
    """``azureml:<name>:<version>`` for an asset got from the registry (it has an id), else None:
    a deployment then names the registered version instead of uploading it again."""
    if asset is not None and asset.id and asset.name and asset.version:
        return f"azureml:{asset.name}:{asset.version}"
    return None


class BuildContext(Entity, BuildContextSpec):
    """An environment's Docker build context (its requirements are read; no Docker runs)."""


class Environment(Entity, EnvironmentSpec):
    """An environment: ``Environment(conda_file="conda.yaml", image="mcr.microsoft.com/...")``.

    CLI: ``switchman environment create -n my-env --conda-file conda.yaml --image ...``.
    """

    build: BuildContext | None = Field(default=None, description="Docker build context.")
    id: str | None = Field(default=None, exclude=True, description="Read-only: resource id.")
    creation_context: dict[str, Any] | None = Field(
        default=None, exclude=True, description="Read-only: created_at, created_by."
    )
    properties: dict[str, Any] | None = Field(
        default=None, exclude=True, description="Accepted for azure-ai-ml; not stored."
    )


class Data(Entity, DataSpec):
    """A data asset: ``Data(name="heart", path="data/", type=AssetTypes.URI_FOLDER)``.

    CLI: ``switchman data create -n heart --path data/ --type uri_folder``.
    """

    id: str | None = Field(default=None, exclude=True, description="Read-only: resource id.")
    creation_context: dict[str, Any] | None = Field(
        default=None, exclude=True, description="Read-only: created_at, created_by."
    )
    properties: dict[str, Any] | None = Field(
        default=None, exclude=True, description="Accepted for azure-ai-ml; not stored."
    )
