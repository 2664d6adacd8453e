"""``switchman.ml``: azure-ai-ml's Python API for a Switchman platform.

A notebook written for Azure ML runs with two import lines changed::

    from switchman.ml import MLClient                       # was: from azure.ai.ml import MLClient
    from switchman.ml.entities import ManagedOnlineEndpoint, ManagedOnlineDeployment, Model, ...
    from switchman.ml import DefaultAzureCredential         # was: from azure.identity import ...

``MLClient`` talks to the platform of ``SWITCHMAN_HOME`` (started with ``switchman up``) through
the REST client the CLI uses; see docs/sdk.md.
"""

from switchman.ml.client import MLClient
from switchman.ml.credentials import (
    AzureCliCredential,
    ClientSecretCredential,
    DefaultAzureCredential,
    InteractiveBrowserCredential,
    ManagedIdentityCredential,
)
from switchman.ml.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    MlException,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ValidationException,
)
from switchman.ml.input import Input, Output
from switchman.ml.loading import (
    load_batch_deployment,
    load_batch_endpoint,
    load_compute,
    load_data,
    load_environment,
    load_model,
    load_online_deployment,
    load_online_endpoint,
)
from switchman.ml.poller import LROPoller

__all__ = [
    "AzureCliCredential",
    "AzureError",
    "ClientAuthenticationError",
    "ClientSecretCredential",
    "DefaultAzureCredential",
    "HttpResponseError",
    "Input",
    "InteractiveBrowserCredential",
    "LROPoller",
    "MLClient",
    "ManagedIdentityCredential",
    "MlException",
    "Output",
    "ResourceExistsError",
    "ResourceNotFoundError",
    "ServiceRequestError",
    "ValidationException",
    "load_batch_deployment",
    "load_batch_endpoint",
    "load_compute",
    "load_data",
    "load_environment",
    "load_model",
    "load_online_deployment",
    "load_online_endpoint",
]
