"""Spec models: one source of truth for the CLI, the REST API and the SDK."""

from switchman.spec.deployment import (
    CodeConfiguration,
    OnlineDeploymentSpec,
    ProbeSettings,
    RequestSettings,
    ScaleSettings,
)
from switchman.spec.endpoint import OnlineEndpointSpec, check_traffic_rules
from switchman.spec.environment import EnvironmentSpec
from switchman.spec.model import ModelSpec

__all__ = [
    "CodeConfiguration",
    "EnvironmentSpec",
    "ModelSpec",
    "OnlineDeploymentSpec",
    "OnlineEndpointSpec",
    "ProbeSettings",
    "RequestSettings",
    "ScaleSettings",
    "check_traffic_rules",
]
