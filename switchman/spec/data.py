"""The ``data`` YAML kind: a registered data asset (uri_file, uri_folder) used as batch input."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from switchman.spec.base import TopLevelSpec


class DataSpec(TopLevelSpec):
    name: str | None = Field(default=None, description="Data asset name (or --name).")
    version: str | None = Field(
        default=None, description="Version; registered assets count from 1."
    )
    type: Literal["uri_file", "uri_folder"] = Field(
        default="uri_folder", description="uri_folder (a folder of files) or uri_file (one file)."
    )
    path: str | None = Field(
        default=None,
        description="Local path, azureml://datastores/<ds>/paths/<p>, or an https:// URL.",
    )
    description: str | None = Field(default=None, description="Free text.")
    tags: dict[str, str] = Field(default_factory=dict, description="Key/value tags.")
    datastore: str | None = Field(default=None, description="Upload target; recorded only.")

    @field_validator("type", mode="before")
    @classmethod
    def _supported(cls, value: Any) -> Any:
        if value == "mltable":
            raise ValueError(
                "mltable data assets are not supported as batch input (as in Azure ML); "
                "register the files as type: uri_folder or uri_file"
            )
        return value

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
