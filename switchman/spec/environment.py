"""The ``environment`` YAML kind (reference §3.5, §5.6), inline or registered."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from switchman.spec.base import SpecModel, TopLevelSpec


class BuildContext(SpecModel):
    path: str = Field(
        description="Docker build context folder (its requirements are read, no Docker runs)."
    )
    dockerfile_path: str = Field(default="Dockerfile", description="Dockerfile inside the context.")


class Route(SpecModel):
    port: int = Field(ge=1, le=65535, description="Container port.")
    path: str = Field(description="HTTP path.")


class InferenceConfig(SpecModel):
    liveness_route: Route = Field(description="Liveness probe route of a custom container.")
    readiness_route: Route = Field(description="Readiness probe route of a custom container.")
    scoring_route: Route = Field(description="Route the endpoint's /score is forwarded to.")


class EnvironmentSpec(TopLevelSpec):
    name: str | None = Field(default=None, description="Environment name (ignored when inline).")
    version: str | None = Field(default=None, description="Environment version.")
    description: str | None = Field(default=None, description="Free text.")
    tags: dict[str, str] = Field(default_factory=dict, description="Key/value tags.")
    image: str | None = Field(
        default=None, description="Base image; recorded, ignored without containers."
    )
    conda_file: str | dict[str, Any] | None = Field(
        default=None, description="Conda environment file (path or inline mapping)."
    )
    build: BuildContext | None = Field(default=None, description="Docker build context.")
    os_type: Literal["linux", "windows"] = Field(default="linux", description="Operating system.")
    inference_config: InferenceConfig | None = Field(
        default=None, description="Routes of a custom container (BYOC)."
    )
    datastore: str | None = Field(default=None, description="Upload target; recorded only.")

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="before")
    @classmethod
    def _no_conda_keys_at_top(cls, data: Any) -> Any:
        if isinstance(data, dict):
            misplaced = sorted({"channels", "dependencies"} & set(data))
            if misplaced:
                raise ValueError(
                    f"{', '.join(misplaced)} belong in the conda file, not in the environment YAML: "
                    "move them into a conda.yaml and point `conda_file:` at it"
                )
        return data

    @model_validator(mode="after")
    def _image_xor_build(self) -> EnvironmentSpec:
        if self.image and self.build:
            raise ValueError("`image` and `build` are mutually exclusive: keep one of them")
        return self
