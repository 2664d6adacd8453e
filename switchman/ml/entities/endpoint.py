"""Online endpoints: ``ManagedOnlineEndpoint`` (and the Kubernetes shape) on ``OnlineEndpointSpec``."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from switchman.ml.entities._base import Entity
from switchman.spec.endpoint import OnlineEndpointSpec


class OnlineEndpoint(Entity, OnlineEndpointSpec):
    """An online endpoint. Set ``traffic`` / ``mirror_traffic`` and call
    ``ml_client.online_endpoints.begin_create_or_update(endpoint)`` again to change them.

    CLI: ``switchman online-endpoint create -n NAME`` / ``update -n NAME --traffic "blue=100"``.
    """

    scoring_uri: str | None = Field(default=None, exclude=True, description="Read-only.")
    openapi_uri: str | None = Field(default=None, exclude=True, description="Read-only.")
    provisioning_state: str | None = Field(default=None, exclude=True, description="Read-only.")
    id: str | None = Field(default=None, exclude=True, description="Read-only: resource id.")
    location: str | None = Field(
        default=None, exclude=True, description="`local` for local endpoints."
    )
    kind: str | None = Field(default=None, exclude=True, description="Read-only: Managed.")
    properties: dict[str, Any] | None = Field(default=None, exclude=True, description="Read-only.")


class ManagedOnlineEndpoint(OnlineEndpoint):
    """``ManagedOnlineEndpoint(name=..., auth_mode="key", description=..., tags=...)``."""


class KubernetesOnlineEndpoint(OnlineEndpoint):
    """``KubernetesOnlineEndpoint(name=..., compute="k8s-compute")``: recorded; runs as managed."""


class EndpointAuthKeys:
    """The keys of a key-auth endpoint (``online_endpoints.get_keys``)."""

    def __init__(self, *, primary_key: str | None = None, secondary_key: str | None = None) -> None:
        self.primary_key = primary_key
        self.secondary_key = secondary_key

    def __repr__(self) -> str:
        return "EndpointAuthKeys(primary_key='***', secondary_key='***')"


class EndpointAuthToken:
    """A token of a token-auth endpoint (``online_endpoints.get_keys``)."""

    def __init__(
        self,
        *,
        access_token: str | None = None,
        expiry_time_utc: int = 0,
        refresh_after_time_utc: int = 0,
        token_type: str | None = None,
    ) -> None:
        self.access_token = access_token
        self.expiry_time_utc = expiry_time_utc
        self.refresh_after_time_utc = refresh_after_time_utc
        self.token_type = token_type

    def __repr__(self) -> str:
        return f"EndpointAuthToken(access_token='***', expiry_time_utc={self.expiry_time_utc})"
