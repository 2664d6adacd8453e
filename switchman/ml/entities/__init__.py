"""``switchman.ml.entities``: azure-ai-ml's entity classes, each built on Switchman's spec model of
the same YAML kind (one schema for the CLI, the REST API and the SDK)."""

from switchman.ml.entities.asset import BuildContext, Data, Environment, Model
from switchman.ml.entities.batch import (
    BatchDeployment,
    BatchEndpoint,
    BatchJob,
    BatchRetrySettings,
    Job,
    ModelBatchDeployment,
    ModelBatchDeploymentSettings,
    ResourceConfiguration,
)
from switchman.ml.entities.compute import AmlCompute
from switchman.ml.entities.deployment import (
    CodeConfiguration,
    KubernetesOnlineDeployment,
    ManagedOnlineDeployment,
    OnlineDeployment,
    OnlineRequestSettings,
    ProbeSettings,
)
from switchman.ml.entities.endpoint import (
    EndpointAuthKeys,
    EndpointAuthToken,
    KubernetesOnlineEndpoint,
    ManagedOnlineEndpoint,
    OnlineEndpoint,
)

__all__ = [
    "AmlCompute",
    "BatchDeployment",
    "BatchEndpoint",
    "BatchJob",
    "BatchRetrySettings",
    "BuildContext",
    "CodeConfiguration",
    "Data",
    "EndpointAuthKeys",
    "EndpointAuthToken",
    "Environment",
    "Job",
    "KubernetesOnlineDeployment",
    "KubernetesOnlineEndpoint",
    "ManagedOnlineDeployment",
    "ManagedOnlineEndpoint",
    "Model",
    "ModelBatchDeployment",
    "ModelBatchDeploymentSettings",
    "OnlineDeployment",
    "OnlineEndpoint",
    "OnlineRequestSettings",
    "ProbeSettings",
    "ResourceConfiguration",
]
