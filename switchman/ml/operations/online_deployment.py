"""``ml_client.online_deployments``: azure-ai-ml's ``OnlineDeploymentOperations``."""

from __future__ import annotations

from typing import Any

from switchman.errors import NotFoundError, SwitchmanError
from switchman.ml.entities.deployment import ManagedOnlineDeployment, OnlineDeployment
from switchman.ml.exceptions import (
    HttpResponseError,
    ValidationException,
    from_switchman,
    translated,
)
from switchman.ml.operations._base import Operations, editable, find, resolved
from switchman.ml.poller import LROPoller, Poll, failed, running, succeeded


class OnlineDeploymentOperations(Operations):
    """Create, update (rolling), inspect and delete the deployments of online endpoints."""

    def begin_create_or_update(
        self,
        deployment: OnlineDeployment,
        *,
        local: bool = False,
        vscode_debug: bool = False,
        skip_script_validation: bool = False,
        local_enable_gpu: bool = False,
        **kwargs: Any,
    ) -> LROPoller[OnlineDeployment]:
        """Create the deployment, or roll an update when it exists; the poller's ``result()`` is
        the deployment once it is ready (``HttpResponseError`` with the reason when it failed).

        With ``local=True`` the call returns once the deployment is ready, as azure-ai-ml's local
        deployments do.

        CLI: ``switchman online-deployment create -f blue.yml`` / ``update -f blue.yml``.
        """
        if not isinstance(deployment, OnlineDeployment):
            raise ValidationException(
                "begin_create_or_update expects an OnlineDeployment, got "
                f"{type(deployment).__name__}."
            )
        endpoint = deployment.endpoint_name
        if not endpoint:
            raise ValidationException(
                f"Deployment {deployment.name!r} has no endpoint_name: set endpoint_name=..."
            )
        api = self._api
        doc = resolved(deployment)._to_rest()
        current = find(lambda: api.get_deployment(endpoint, deployment.name, local=local))
        with translated():
            if current is None:
                api.create_deployment(endpoint, doc, wait=False, local=local)
            else:
                merged = {**editable(current), **doc}
                merged.pop("instances", None)
                api.update_deployment(endpoint, deployment.name, merged, wait=False, local=local)
        poller = LROPoller(lambda: self._observe(endpoint, deployment.name, local))
        if local:
            return LROPoller.finished(poller.result())
        return poller

    def _observe(self, endpoint: str, name: str, local: bool) -> Poll[OnlineDeployment]:
        with translated():
            view = self._api.get_deployment(endpoint, name, local=local)
        state = view.get("provisioning_state")
        if state == "Succeeded":
            self._api.wait_router()
            return succeeded(ManagedOnlineDeployment._from_rest(view))
        if state == "Failed":
            error = view.get("error") or {}
            return failed(
                HttpResponseError(
                    f"Deployment {name!r} on endpoint {endpoint!r} failed: "
                    f"{error.get('message', 'unknown reason')} See "
                    f"ml_client.online_deployments.get_logs(name={name!r}, "
                    f"endpoint_name={endpoint!r}, lines=100).",
                    status_code=400,
                    code=str(error.get("code") or "ResourceNotReady"),
                )
            )
        return running()

    def get(self, name: str, endpoint_name: str, *, local: bool = False) -> OnlineDeployment:
        """The deployment. CLI: ``switchman online-deployment show -n NAME -e ENDPOINT``.

        Raises:
            ResourceNotFoundError: no such deployment (or endpoint).
        """
        with translated():
            view = self._api.get_deployment(endpoint_name, name, local=local)
        return ManagedOnlineDeployment._from_rest(view)

    def list(self, endpoint_name: str, *, local: bool = False) -> list[OnlineDeployment]:
        """The endpoint's deployments. CLI: ``switchman online-deployment list -e ENDPOINT``."""
        with translated():
            views = self._api.list_deployments(endpoint_name, local=local)
        return [ManagedOnlineDeployment._from_rest(v) for v in views]

    def begin_delete(
        self, name: str, endpoint_name: str, *, local: bool = False
    ) -> LROPoller[None]:
        """Delete the deployment (its traffic must be 0). CLI: ``switchman online-deployment delete``."""
        with translated():
            path = f"/api/online-endpoints/{endpoint_name}/deployments/{name}"
            self._api.request("DELETE", path, params={"local": "true"} if local else None)
        return LROPoller(lambda: self._gone(endpoint_name, name, local), timeout=300.0)

    def _gone(self, endpoint: str, name: str, local: bool) -> Poll[None]:
        try:
            self._api.get_deployment(endpoint, name, local=local)
        except NotFoundError:
            return succeeded(None)
        except SwitchmanError as exc:
            raise from_switchman(exc) from None
        return running()

    def get_logs(
        self,
        name: str,
        endpoint_name: str,
        lines: int = 5000,
        *,
        container_type: str | None = None,
        local: bool = False,
        **kwargs: Any,
    ) -> str:
        """The last ``lines`` of an instance's log (``container_type``: inference-server or
        storage-initializer). CLI: ``switchman online-deployment get-logs -n NAME -e EP --lines N``."""
        container = (container_type or "inference-server").replace("_", "-").lower()
        with translated():
            result = self._api.get_logs(endpoint_name, name, container, lines, local=local)
        return str(result.get("text", ""))
