"""The ``model`` YAML kind (reference §5.5) and the inline model of a deployment."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from switchman.spec.base import TopLevelSpec

ModelType = Literal["custom_model", "mlflow_model", "triton_model"]


class ModelSpec(TopLevelSpec):
    name: str | None = Field(
        default=None, description="Model name; inline models get one generated."
    )
    version: str | None = Field(
        default=None, description="Model version; registered models count from 1."
    )
    path: str | None = Field(default=None, description="Local file or folder holding the model.")
    type: ModelType = Field(
        default="custom_model", description="custom_model, mlflow_model or triton_model."
    )
    description: str | None = Field(default=None, description="Free text.")
    tags: dict[str, str] = Field(default_factory=dict, description="Key/value tags.")
    stage: str | None = Field(default=None, description="Lifecycle stage label.")
    flavors: dict[str, Any] | None = Field(
        default=None, description="MLflow flavors (read from MLmodel)."
    )
    datastore: str | None = Field(
        default=None, description="Upload target; recorded, not used locally."
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        return value
