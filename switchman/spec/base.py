"""Shared pydantic configuration for every spec model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Keys `show` prints that a user may paste back into a file; accepted on input and ignored, as the
# Azure ML SDK treats them as dump-only.
READ_ONLY_KEYS = frozenset(
    {
        "id",
        "provisioning_state",
        "scoring_uri",
        "openapi_uri",
        "location",
        "kind",
        "properties",
        "creation_context",
        "instances",
        "status",
        "generation",
    }
)


class SpecModel(BaseModel):
    """Base of every YAML kind: unknown keys are errors; ``$schema`` is accepted as an editor hint."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=False)

    schema_: str | None = Field(
        default=None, alias="$schema", description="JSON schema URL; an editor hint only."
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls.drops_read_only():
            return {k: v for k, v in data.items() if k not in READ_ONLY_KEYS}
        return data

    @classmethod
    def drops_read_only(cls) -> bool:
        return False

    def to_dict(self) -> dict[str, Any]:
        """The spec as a YAML-ready dict with wire names (``$schema``), unset defaults included."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class TopLevelSpec(SpecModel):
    """A document kind (endpoint, deployment, model, environment) that `show` output can round-trip."""

    @classmethod
    def drops_read_only(cls) -> bool:
        return True
