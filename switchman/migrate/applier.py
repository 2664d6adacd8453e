"""``--apply``: create the converted endpoint and deployment on a running Switchman, all or nothing.

Order: create the endpoint, set the v1 keys, create the deployment (waits until ready), then send
100% of traffic to it. The keys are set before traffic flows, so the first request the new endpoint
serves already accepts the v1 keys. If any step fails, the endpoint this run created is deleted
(with its deployment), so nothing is left half-created.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from switchman.errors import ConflictError, SwitchmanError
from switchman.migrate.converter import Migration
from switchman.migrate.report import ApplyOutcome
from switchman.spec.deployment import OnlineDeploymentSpec
from switchman.spec.endpoint import OnlineEndpointSpec
from switchman.spec.loader import load_spec


class PlatformClient(Protocol):
    """The part of :class:`switchman.client.Client` that apply uses (faked in unit tests)."""

    def create_endpoint(self, spec: dict[str, Any]) -> dict[str, Any]: ...

    def update_endpoint(self, name: str, spec: dict[str, Any]) -> dict[str, Any]: ...

    def get_endpoint(self, name: str) -> dict[str, Any]: ...

    def delete_endpoint(self, name: str) -> None: ...

    def regenerate_keys(
        self, name: str, key_type: str = "primary", key_value: str | None = None
    ) -> dict[str, Any]: ...

    def create_deployment(self, endpoint: str, spec: dict[str, Any]) -> dict[str, Any]: ...


def apply(migration: Migration, client: PlatformClient, output_dir: Path) -> ApplyOutcome:
    """Create what ``migration`` describes from the files written in ``output_dir``.

    The YAML files are loaded with :func:`switchman.spec.loader.load_spec`, so relative paths
    resolve against ``output_dir`` exactly as `switchman online-* create -f` would resolve them.

    Returns:
        The outcome: the scoring URI, or the error and the clean-up done. Never raises for platform
        errors; the caller reports them.
    """
    endpoint_spec, _ = load_spec(OnlineEndpointSpec, output_dir / "endpoint.yml")
    deployment_spec, _ = load_spec(OnlineDeploymentSpec, output_dir / "deployment.yml")
    name = endpoint_spec.name
    created = False
    try:
        client.create_endpoint(endpoint_spec.to_dict())
        created = True
        auth = migration.auth
        for key_type, value in (("primary", auth.primary_key), ("secondary", auth.secondary_key)):
            if value is not None:
                client.regenerate_keys(name, key_type, value)
        client.create_deployment(name, deployment_spec.to_dict())
        with_traffic = endpoint_spec.to_dict()
        with_traffic["traffic"] = {deployment_spec.name: 100}
        client.update_endpoint(name, with_traffic)
        uri = client.get_endpoint(name).get("scoring_uri")
        return ApplyOutcome(scoring_uri=str(uri) if uri else None)
    except SwitchmanError as exc:
        message = exc.message
        if isinstance(exc, ConflictError) and not created:
            message += " Pick another --endpoint-name to keep the existing endpoint."
        elif migration.model_ref and "model create" not in message and "model" in message.lower():
            model_name, version = migration.model_ref
            message += (
                f" Register azureml:{model_name}:{version} first: "
                f"`switchman model create -n {model_name} -v {version} --path <model>`."
            )
        return ApplyOutcome(error=message, cleanup=_undo(client, name) if created else [])
    except BaseException:
        # Interrupted (Ctrl-C) or a bug: still leave nothing half-created, then let it propagate.
        if created:
            _undo(client, name)
        raise


def _undo(client: PlatformClient, name: str) -> list[str]:
    try:
        client.delete_endpoint(name)
    except SwitchmanError as exc:
        return [
            f"could not delete endpoint {name!r} that this run created: {exc.message} "
            f"Delete it with `switchman online-endpoint delete -n {name} --yes`."
        ]
    return [f"deleted endpoint {name!r} (and its deployment) that this run created"]
