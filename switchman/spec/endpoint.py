"""The ``managedOnlineEndpoint`` YAML kind (reference §2) and the traffic rules of §6.2."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from switchman.spec.base import SpecModel, TopLevelSpec
from switchman.spec.names import name_problem
from switchman.spec.rollout import RolloutSpec

AuthMode = Literal["key", "aml_token", "aad_token"]
MAX_MIRROR_PERCENT = 50


class UserAssignedIdentity(SpecModel):
    resource_id: str = Field(description="ARM id of the identity.")
    client_id: str | None = Field(default=None, description="Client id.")
    object_id: str | None = Field(default=None, description="Object id.")


class IdentitySpec(SpecModel):
    type: Literal["system_assigned", "user_assigned", "none"] = Field(description="Identity kind.")
    user_assigned_identities: list[UserAssignedIdentity] | None = Field(
        default=None, max_length=1, description="At most one user-assigned identity."
    )


def _percentages(value: Any, field: str) -> Any:
    if not isinstance(value, dict):
        return value
    out: dict[str, int] = {}
    for name, pct in value.items():
        if isinstance(pct, bool) or not isinstance(pct, int | str):
            raise ValueError(f"{field}.{name} must be an integer percentage, got {pct!r}")
        try:
            number = int(pct)
        except ValueError:
            raise ValueError(f"{field}.{name} must be an integer percentage, got {pct!r}") from None
        if not 0 <= number <= 100:
            raise ValueError(f"{field}.{name} must be between 0 and 100, got {number}")
        out[str(name)] = number
    return out


class OnlineEndpointSpec(TopLevelSpec):
    """What a user owns of an online endpoint. Status lives apart (switchman.status)."""

    name: str = Field(description="Endpoint name: 3-32 chars, letters, digits and '-'.")
    description: str | None = Field(default=None, description="Free text.")
    tags: dict[str, str] = Field(default_factory=dict, description="Key/value tags.")
    auth_mode: AuthMode = Field(default="key", description="key, aml_token or aad_token.")
    compute: str | None = Field(default=None, description="Kubernetes compute (recorded only).")
    identity: IdentitySpec | None = Field(
        default=None, description="Managed identity (recorded only)."
    )
    traffic: dict[str, int] = Field(
        default_factory=dict,
        description="Deployment name → percent of live traffic; sums to 0 or 100.",
    )
    mirror_traffic: dict[str, int] = Field(
        default_factory=dict,
        description="One deployment → percent (≤ 50) of requests copied to it.",
    )
    public_network_access: Literal["enabled", "disabled"] = Field(
        default="enabled",
        description="disabled: the router serves this endpoint only to loopback and --private-range clients (403 for others).",
    )
    rollout: RolloutSpec | None = Field(
        default=None, description="A gated progressive rollout the control plane drives."
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        problem = name_problem(value, "an endpoint")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("traffic", mode="before")
    @classmethod
    def _traffic_numbers(cls, value: Any) -> Any:
        return _percentages(value, "traffic")

    @field_validator("mirror_traffic", mode="before")
    @classmethod
    def _mirror_numbers(cls, value: Any) -> Any:
        return _percentages(value, "mirror_traffic")

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _traffic_rules(self) -> OnlineEndpointSpec:
        check_traffic_rules(self.traffic, self.mirror_traffic)
        # "green=0" switches mirroring off; keep the stored shape canonical.
        live = {k: v for k, v in self.mirror_traffic.items() if v > 0}
        if live != self.mirror_traffic:  # assign only on change: keeps model_fields_set honest
            self.mirror_traffic = live
        return self


def check_traffic_rules(traffic: dict[str, int], mirror: dict[str, int]) -> None:
    """Raise ValueError when traffic/mirror settings break Azure ML's rules (§2, §6.2)."""
    total = sum(traffic.values())
    if total not in (0, 100):
        shown = " ".join(f"{k}={v}" for k, v in traffic.items())
        raise ValueError(
            f"traffic must add up to 0 or 100 percent, but {shown} adds up to {total}; "
            'for example --traffic "blue=90 green=10"'
        )
    live_mirror = {k: v for k, v in mirror.items() if v > 0}
    if len(live_mirror) > 1:
        raise ValueError(
            f"mirror_traffic can name one deployment only, got {', '.join(sorted(live_mirror))}"
        )
    for name, pct in live_mirror.items():
        if pct > MAX_MIRROR_PERCENT:
            raise ValueError(
                f"mirror_traffic.{name} is {pct}; at most {MAX_MIRROR_PERCENT} percent can be mirrored"
            )
        if traffic.get(name, 0) > 0:
            raise ValueError(
                f"deployment {name!r} has live traffic ({traffic[name]}%) and cannot also receive "
                "mirror traffic; set its traffic to 0 first"
            )


def unknown_deployments(spec: OnlineEndpointSpec, existing: set[str]) -> list[str]:
    """Names in traffic or mirror_traffic that are not deployments of the endpoint."""
    named = set(spec.traffic) | set(spec.mirror_traffic)
    return sorted(n for n in named if n not in existing)
