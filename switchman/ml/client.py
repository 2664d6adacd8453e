"""``MLClient``: the entry point of azure-ai-ml, talking to the Switchman platform of
``SWITCHMAN_HOME`` through the same REST client the CLI uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from switchman.client import Client
from switchman.home import Home
from switchman.ml.exceptions import ValidationException, translated
from switchman.ml.operations.environment import EnvironmentOperations
from switchman.ml.operations.model import ModelOperations
from switchman.ml.operations.online_deployment import OnlineDeploymentOperations
from switchman.ml.operations.online_endpoint import OnlineEndpointOperations
from switchman.ml.poller import LROPoller


class MLClient:
    """A handle to the platform, as azure-ai-ml's ``MLClient`` is to a workspace.

    Args:
        credential: accepted and ignored (``DefaultAzureCredential()`` works).
        subscription_id, resource_group_name, workspace_name, registry_name: accepted and kept as
            attributes; a Switchman home holds one workspace.
        home: the ``SWITCHMAN_HOME`` folder to talk to (default: the ``SWITCHMAN_HOME`` variable,
            else ``~/.switchman``). The platform must be running (``switchman up``).

    Example::

        ml_client = MLClient(DefaultAzureCredential(), subscription_id, resource_group, workspace)
        ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    """

    def __init__(
        self,
        credential: Any = None,
        subscription_id: str | None = None,
        resource_group_name: str | None = None,
        workspace_name: str | None = None,
        registry_name: str | None = None,
        *,
        home: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        self.credential = credential
        self.subscription_id = subscription_id
        self.resource_group_name = resource_group_name
        self.workspace_name = workspace_name
        self.registry_name = registry_name
        self._home = Home.from_env(str(home)) if home is not None else Home.from_env()
        self._rest: Client | None = None
        self.online_endpoints = OnlineEndpointOperations(self._client)
        self.online_deployments = OnlineDeploymentOperations(self._client)
        self.models = ModelOperations(self._client)
        self.environments = EnvironmentOperations(self._client)
        self._add_batch_operations()

    def _add_batch_operations(self) -> None:
        """Batch endpoints, deployments, jobs, data and compute (issue #10's API)."""
        from switchman.ml.operations import batch

        self.batch_endpoints = batch.BatchEndpointOperations(self._client)
        self.batch_deployments = batch.BatchDeploymentOperations(self._client)
        self.jobs = batch.JobOperations(self._client)
        self.data = batch.DataOperations(self._client)
        self.compute = batch.ComputeOperations(self._client)

    @classmethod
    def from_config(
        cls,
        credential: Any = None,
        *,
        path: str | Path | None = None,
        file_name: str | None = None,
        **kwargs: Any,
    ) -> MLClient:
        """An MLClient from a workspace ``config.json`` (searched from ``path`` or the current
        folder upwards, also in ``.azureml/``). Its ids are kept; ``"switchman_home"`` in it picks
        the home. Without a config file the client uses ``SWITCHMAN_HOME``."""
        config = _find_config(Path(path) if path else Path.cwd(), file_name or "config.json")
        data: dict[str, Any] = {}
        if config is not None:
            try:
                data = dict(json.loads(config.read_text()))
            except (OSError, ValueError, TypeError) as exc:
                raise ValidationException(
                    f"Cannot read the workspace config {config}: {exc}. It must be a JSON object "
                    'like {"subscription_id": "...", "resource_group": "...", "workspace_name": "..."}.'
                ) from None
        home = kwargs.pop("home", None) or data.get("switchman_home")
        return cls(
            credential,
            data.get("subscription_id"),
            data.get("resource_group") or data.get("resource_group_name"),
            data.get("workspace_name"),
            home=home,
            **kwargs,
        )

    def _client(self) -> Client:
        if self._rest is None:
            with translated():
                self._rest = Client.from_home(self._home)
        return self._rest

    def begin_create_or_update(self, entity: Any, **kwargs: Any) -> LROPoller[Any]:
        """Create or update an endpoint, deployment or compute: the operation its type names."""
        from switchman.ml.entities import (
            AmlCompute,
            BatchDeployment,
            BatchEndpoint,
            OnlineDeployment,
            OnlineEndpoint,
        )

        if isinstance(entity, OnlineEndpoint):
            return self.online_endpoints.begin_create_or_update(entity, **kwargs)
        if isinstance(entity, OnlineDeployment):
            return self.online_deployments.begin_create_or_update(entity, **kwargs)
        if isinstance(entity, BatchEndpoint):
            return self.batch_endpoints.begin_create_or_update(entity, **kwargs)
        if isinstance(entity, BatchDeployment):
            return self.batch_deployments.begin_create_or_update(entity, **kwargs)
        if isinstance(entity, AmlCompute):
            return self.compute.begin_create_or_update(entity, **kwargs)
        raise ValidationException(
            f"begin_create_or_update does not take a {type(entity).__name__}; give an endpoint, "
            "deployment or compute (models, environments and data use create_or_update)."
        )

    def create_or_update(self, entity: Any, **kwargs: Any) -> Any:
        """Register a model, environment or data asset: the operation its type names."""
        from switchman.ml.entities import Data, Environment, Model

        if isinstance(entity, Model):
            return self.models.create_or_update(entity, **kwargs)
        if isinstance(entity, Environment):
            return self.environments.create_or_update(entity, **kwargs)
        if isinstance(entity, Data):
            return self.data.create_or_update(entity, **kwargs)
        raise ValidationException(
            f"create_or_update does not take a {type(entity).__name__}; give a Model, Environment "
            "or Data (endpoints, deployments and compute use begin_create_or_update)."
        )

    def close(self) -> None:
        if self._rest is not None:
            self._rest.close()
            self._rest = None

    def __enter__(self) -> MLClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MLClient(home={str(self._home.root)!r}, workspace_name={self.workspace_name!r})"


def _find_config(start: Path, file_name: str) -> Path | None:
    folder = start.resolve()
    if folder.is_file():
        return folder
    for candidate in (folder, *folder.parents):
        for place in (candidate / file_name, candidate / ".azureml" / file_name):
            if place.is_file():
                return place
    return None
