"""The control plane's operations on endpoints and deployments (transport-agnostic core).

The REST routes only parse, call these methods and serialise; the reconciler does the rest.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchman.compute.backend import Handle
from switchman.controlplane.connections import ConnectionRegistry
from switchman.controlplane.datacollection import collector_environment
from switchman.controlplane.quota import check_quota, default_quota
from switchman.controlplane.secrets import Vault, new_key
from switchman.controlplane.store import DeploymentRecord, EndpointRecord, Store
from switchman.controlplane.uploads import upload
from switchman.errors import BadArgumentError, ConflictError, NotFoundError
from switchman.home import Home
from switchman.spec.deployment import OnlineDeploymentSpec
from switchman.spec.endpoint import OnlineEndpointSpec, check_traffic_rules, unknown_deployments
from switchman.spec.loader import validate
from switchman.spec.model import ModelSpec
from switchman.spec.sku import close_matches, find_sku
from switchman.status import InstanceState, ProvisioningState

logger = logging.getLogger(__name__)

MAX_DEPLOYMENTS_PER_ENDPOINT = 20
_ASSET_REF = re.compile(
    r"^azureml:(?://)?(?:/.*?/models/)?(?P<name>[^:@/]+)(?:(?::|/versions/)(?P<version>[^@/]+)|@(?P<label>\w+))?$"
)


@dataclass
class Addresses:
    """Where the router listens, for the URIs that `show` prints."""

    router_port: int
    public_host: str | None = None
    scheme: str = "http"  # "https" when the router serves TLS (switchman up --tls)

    def scoring_uri(self, endpoint: str) -> str:
        return self._base(endpoint) + "/score"

    def openapi_uri(self, endpoint: str) -> str:
        return self._base(endpoint) + "/swagger.json"

    def _base(self, endpoint: str) -> str:
        if self.public_host:
            return f"{self.scheme}://{endpoint}.{self.public_host}:{self.router_port}"
        return f"{self.scheme}://127.0.0.1:{self.router_port}/endpoints/{endpoint}"


LOCAL_SUFFIX = ".local"


def endpoint_key(name: str, local: bool = False) -> str:
    """Where an endpoint is stored and routed: a local endpoint lives beside a managed endpoint of
    the same name (as Azure ML's local endpoints do beside the workspace's), under a key that no
    endpoint name can take (names have no dots)."""
    return f"{name}{LOCAL_SUFFIX}" if local else name


def endpoint_name(key: str) -> str:
    """The user's name of the endpoint stored under ``key``."""
    return key.removesuffix(LOCAL_SUFFIX)


def _state(status: dict[str, Any]) -> str:
    return str(status.get("provisioning_state", ProvisioningState.SUCCEEDED))


class EndpointService:
    """Create, change and delete endpoints and deployments; render their `show` views."""

    def __init__(self, home: Home, store: Store, vault: Vault, addresses: Addresses) -> None:
        self.home = home
        self.store = store
        self.vault = vault
        self.addresses = addresses
        self.connections = ConnectionRegistry(store, vault)  # security: secret injection
        # Set by the platform to its compute backend's check (a SKU no node can fit fails here).
        self.check_capacity: Callable[[str | None], None] = lambda _: None

    # -- views -----------------------------------------------------------------------------------

    def endpoint_view(self, record: EndpointRecord) -> dict[str, Any]:
        view = dict(record.spec)
        view.pop("$schema", None)
        # As in Azure ML, every deployment shows in `traffic`, at 0% until traffic is given to it.
        names = [
            d.name
            for d in self.store.list_deployments(record.name)
            if _state(d.status) != ProvisioningState.DELETING
        ]
        view["traffic"] = {**dict.fromkeys(names, 0), **dict(record.spec.get("traffic", {}))}
        view.update(
            {
                "provisioning_state": _state(record.status),
                "scoring_uri": self.addresses.scoring_uri(record.name),
                "openapi_uri": self.addresses.openapi_uri(record.name),
                "location": "local" if record.local else "switchman",
                "kind": "Managed",
                "id": f"/switchman/onlineEndpoints/{record.name}",
                "properties": {
                    "azureml.onlineendpointid": f"/switchman/onlineEndpoints/{record.name}",
                    "generation": record.generation,
                },
            }
        )
        return view

    def deployment_view(self, record: DeploymentRecord) -> dict[str, Any]:
        view = dict(record.spec)
        view.pop("$schema", None)
        view["endpoint_name"] = endpoint_name(record.endpoint)
        view.setdefault("type", "managed")
        view["provisioning_state"] = _state(record.status)
        view["id"] = f"/switchman/onlineEndpoints/{record.endpoint}/deployments/{record.name}"
        view["properties"] = {
            "generation": record.generation,
            "observed_generation": record.status.get("observed_generation"),
        }
        if record.status.get("error"):
            view["error"] = record.status["error"]
        view["instances"] = [
            {"name": i.id, "state": i.state, "pid": i.pid, "url": i.url, "address": i.address}
            for i in self.store.list_instances(record.endpoint, record.name)
            if i.state != InstanceState.FAILED or i.template == record.resolved.get("template")
        ]
        return view

    # -- endpoints -------------------------------------------------------------------------------

    def create_endpoint(self, raw: dict[str, Any], *, local: bool = False) -> dict[str, Any]:
        spec = validate(OnlineEndpointSpec, raw, source="the request")
        if (spec.traffic and any(v > 0 for v in spec.traffic.values())) or spec.mirror_traffic:
            missing = unknown_deployments(spec, set())
            raise BadArgumentError(
                f"traffic names deployments that do not exist yet ({', '.join(missing)}); create "
                "the endpoint without traffic, add deployments, then set traffic with "
                '`switchman online-endpoint update --traffic "blue=100"`.'
            )
        secrets = self.vault.seal({"primaryKey": new_key(), "secondaryKey": new_key()})
        key = endpoint_key(spec.name, local)
        record = self.store.insert_endpoint(
            key,
            spec.model_dump(mode="json", by_alias=True, exclude_none=True),
            {"provisioning_state": ProvisioningState.SUCCEEDED},
            local=local,
            secrets=secrets,
        )
        self.store.add_event("Created", f"Endpoint {spec.name} created", endpoint=key)
        return self.endpoint_view(record)

    def live_endpoint(self, name: str) -> EndpointRecord:
        record = self.store.get_endpoint(name)
        if _state(record.status) == ProvisioningState.DELETING:
            raise ConflictError(
                f"Online endpoint {name!r} is being deleted; wait for it to finish."
            )
        return record

    def update_endpoint(self, name: str, raw: dict[str, Any]) -> dict[str, Any]:
        record = self.live_endpoint(name)
        raw = {**raw, "name": endpoint_name(name)}
        spec = validate(OnlineEndpointSpec, raw, source="the request")
        existing = {
            d.name
            for d in self.store.list_deployments(name)
            if _state(d.status) != ProvisioningState.DELETING
        }
        missing = unknown_deployments(spec, existing)
        if missing:
            raise BadArgumentError(
                f"traffic or mirror_traffic names deployments that do not exist on endpoint "
                f"{name!r}: {', '.join(missing)}. Existing deployments: "
                f"{', '.join(sorted(existing)) or 'none'}."
            )
        if record.local and (sum(spec.traffic.values()) not in (0, 100) or spec.mirror_traffic):
            raise BadArgumentError("Local endpoints do not support traffic rules or mirroring.")
        new_spec = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
        if new_spec != record.spec:
            record = self.store.update_endpoint_spec(name, new_spec)
            self.store.add_event("Updated", f"Endpoint {name} updated", endpoint=name)
        return self.endpoint_view(record)

    def delete_endpoint(self, name: str) -> None:
        record = self.store.get_endpoint(name)
        self.store.set_endpoint_status(name, {"provisioning_state": ProvisioningState.DELETING})
        for dep in self.store.list_deployments(record.name):
            self.store.set_deployment_status(
                name, dep.name, {**dep.status, "provisioning_state": ProvisioningState.DELETING}
            )
        self.store.add_event("Deleting", f"Endpoint {name} is being deleted", endpoint=name)

    def credentials(self, name: str) -> dict[str, Any]:
        record = self.store.get_endpoint(name)
        mode = record.spec.get("auth_mode", "key")
        if mode == "key":
            keys = self.vault.open(record.secrets)
            return {"primaryKey": keys.get("primaryKey"), "secondaryKey": keys.get("secondaryKey")}
        return self.vault.issue_token(name)

    def regenerate_keys(self, name: str, key_type: str, key_value: str | None) -> dict[str, Any]:
        record = self.live_endpoint(name)
        kind = key_type.lower()
        if kind not in ("primary", "secondary"):
            raise BadArgumentError(f"--key-type must be primary or secondary, got {key_type!r}.")
        if record.spec.get("auth_mode", "key") != "key":
            raise BadArgumentError(
                f"Endpoint {name!r} uses auth_mode {record.spec.get('auth_mode')}; only key-auth "
                "endpoints have keys to regenerate."
            )
        if key_value is not None and len(key_value) < 8:
            raise BadArgumentError("A key value must be at least 8 characters long.")
        keys = self.vault.open(record.secrets)
        keys[f"{kind}Key"] = key_value or new_key()
        self.store.set_endpoint_secrets(name, self.vault.seal(keys))
        self.store.add_event("KeysRegenerated", f"{kind} key regenerated", endpoint=name)
        return {"primaryKey": keys.get("primaryKey"), "secondaryKey": keys.get("secondaryKey")}

    # -- deployments -----------------------------------------------------------------------------

    def _validate_deployment(self, endpoint: str, raw: dict[str, Any]) -> OnlineDeploymentSpec:
        given = raw.get("endpoint_name")
        endpoint = endpoint_name(endpoint)
        if given and given != endpoint:
            raise BadArgumentError(
                f"The deployment's endpoint_name is {given!r} but the command names endpoint "
                f"{endpoint!r}; make them agree."
            )
        spec = validate(
            OnlineDeploymentSpec, {**raw, "endpoint_name": endpoint}, source="the request"
        )
        if spec.instance_type:
            if find_sku(spec.instance_type) is None:
                hint = close_matches(spec.instance_type)
                raise BadArgumentError(
                    f"instance_type {spec.instance_type!r} is not a known SKU."
                    + (f" Did you mean {', '.join(hint)}?" if hint else "")
                    + " See `docs/skus.md` or reference §11.4 for the catalogue."
                )
        elif spec.type != "kubernetes":
            raise BadArgumentError(
                "instance_type is required for managed online deployments, e.g. "
                "instance_type: Standard_DS3_v2 (or --set instance_type=Standard_DS3_v2)."
            )
        return spec

    def _check_quota(self, spec: OnlineDeploymentSpec, endpoint: str) -> None:
        others = [
            (d.spec.get("instance_type"), int(d.spec.get("instance_count", 1)))
            for d in self.store.list_deployments()
            if not (d.endpoint == endpoint and d.name == spec.name)
            and _state(d.status) != ProvisioningState.DELETING
        ]
        check_quota(spec.name, spec.instance_type, spec.instance_count, others, default_quota())
        self.check_capacity(spec.instance_type)  # the compute backend: can any node fit one?

    def _resolve(self, spec: OnlineDeploymentSpec) -> dict[str, Any]:
        """Upload code and model, resolve the environment: the instance template of a deployment."""
        code: dict[str, Any] | None = None
        if spec.code_configuration and spec.code_configuration.code:
            folder = Path(spec.code_configuration.code)
            script = spec.code_configuration.scoring_script
            if not script:
                raise BadArgumentError(
                    "code_configuration.scoring_script is missing: name the scoring script inside "
                    f"{folder}, e.g. scoring_script: score.py"
                )
            if not folder.is_dir():
                raise BadArgumentError(
                    f"code_configuration.code {str(folder)!r} is not a folder. Paths are relative "
                    "to the YAML file's folder; check the path."
                )
            script_path = folder / script
            if not script_path.is_file():
                raise BadArgumentError(
                    f"The scoring script {str(script_path)!r} does not exist "
                    "(code_configuration.scoring_script is relative to code_configuration.code)."
                )
            _check_syntax(spec.name, script_path)
            code = {
                "asset": str(upload(folder, self.home.assets_dir, what="code folder")),
                "scoring_script": script,
            }
        elif spec.code_configuration and spec.code_configuration.scoring_script:
            raise BadArgumentError(
                "code_configuration.code is missing: give the folder that holds the scoring script."
            )
        model = self._resolve_model(spec.model)
        if code is None and (model is None or model.get("type") != "mlflow_model"):
            raise BadArgumentError(
                "The deployment has no code_configuration: give code_configuration.code and "
                "scoring_script (only MLflow models can be deployed without a scoring script)."
            )
        from switchman.environments import environment_hash, resolve

        environment = resolve(spec.environment, lookup=self._lookup_environment)
        if model is not None and model.get("type") == "mlflow_model":
            from switchman.controlplane.mlflow_deployment import mlflow_environment

            environment = mlflow_environment(
                spec.name, model, code=code, environment=environment,
                variables=spec.environment_variables,
            )  # fmt: skip
        resolved: dict[str, Any] = {
            "model": model,
            "code": code,
            "environment": environment,
            "environment_variables": dict(spec.environment_variables),
            "worker_count": int(
                spec.environment_variables.get(
                    "WORKER_COUNT", spec.request_settings.max_concurrent_requests_per_instance
                )
            ),
            "memory_limit_mib": _memory_limit(spec.instance_type, spec.environment_variables),
            "request_settings": spec.request_settings.model_dump(),
        }
        resolved["environment_variables"].update(collector_environment(self.home, spec))
        secret_refs = self.connections.pin(spec.environment_variables)
        if secret_refs:  # versions in the template: a rotated secret + update rolls instances
            resolved["secret_refs"] = secret_refs
        resolved["template"] = hashlib.sha256(
            json.dumps(resolved, sort_keys=True).encode()
        ).hexdigest()[:16]
        resolved["environment_hash"] = environment_hash(
            environment, mode=spec.environment_variables.get("SWITCHMAN_ENVIRONMENT_MODE")
        )
        return resolved

    def _lookup_environment(self, name: str, version: str | None) -> dict[str, Any] | None:
        found = self.store.get_asset("environment", name, version)
        return dict(found["spec"]) if found else None

    def _resolve_model(self, model: str | ModelSpec | None) -> dict[str, Any] | None:
        if model is None:
            return None
        if isinstance(model, str):
            match = _ASSET_REF.match(model.strip())
            if not match:
                raise BadArgumentError(
                    f"model {model!r} is not a model reference: use azureml:<name>:<version>, "
                    "azureml:<name>@latest, or an inline model with a path."
                )
            name, version = match["name"], match["version"]
            found = self.store.get_asset("model", name, None if match["label"] else version)
            if found is None:
                raise NotFoundError(
                    f"Model {name}:{version or 'latest'} is not registered. Register it with "
                    f"`switchman model create -n {name} --path <folder>` or use an inline model path."
                )
            spec = found["spec"]
            return {
                "name": found["name"],
                "version": found["version"],
                "asset": spec["asset"],
                "leaf": Path(spec.get("path", "model")).name,
                "type": spec.get("type", "custom_model"),
            }
        if not model.path:
            raise BadArgumentError("model.path is missing: give the model file or folder.")
        if model.type == "mlflow_model":  # checked before the upload (issue 11)
            from switchman.spec.mlmodel import model_root, read_mlmodel

            model.path = str(model_root(model.path))
            read_mlmodel(model.path)
        asset = upload(model.path, self.home.assets_dir, what="model path")
        return {
            "name": model.name or Path(model.path).stem.replace("_", "-") or "model",
            "version": model.version or "1",
            "asset": str(asset),
            "leaf": Path(model.path).name,
            "type": model.type,
        }

    def create_deployment(
        self, endpoint: str, raw: dict[str, Any], *, local: bool = False
    ) -> dict[str, Any]:
        record = self.store.find_endpoint(endpoint)
        if record is None and local:
            self.create_endpoint({"name": endpoint_name(endpoint)}, local=True)
            record = self.store.get_endpoint(endpoint)
        if record is None:
            raise NotFoundError(
                f"Online endpoint {endpoint!r} does not exist. Create it first with "
                f"`switchman online-endpoint create -n {endpoint}` (or -f endpoint.yml)."
            )
        if _state(record.status) == ProvisioningState.DELETING:
            raise ConflictError(f"Online endpoint {endpoint!r} is being deleted.")
        spec = self._validate_deployment(endpoint, raw)
        existing = self.store.list_deployments(endpoint)
        if self.store.find_deployment(endpoint, spec.name):
            raise ConflictError(
                f"Deployment {spec.name!r} already exists on endpoint {endpoint!r}. Use "
                "`switchman online-deployment update` to change it, or delete it first."
            )
        if record.local and existing:
            raise BadArgumentError(
                f"Local endpoint {endpoint!r} already has deployment {existing[0].name!r}; local "
                "endpoints hold one deployment."
            )
        if len(existing) >= MAX_DEPLOYMENTS_PER_ENDPOINT:
            raise BadArgumentError(
                f"Endpoint {endpoint!r} already has {len(existing)} deployments (the limit)."
            )
        self._check_quota(spec, endpoint)
        resolved = self._resolve(spec)
        dep = self.store.insert_deployment(
            endpoint,
            spec.name,
            spec.model_dump(mode="json", by_alias=True, exclude_none=True),
            resolved,
            {"provisioning_state": ProvisioningState.CREATING},
        )
        if record.local:
            # A local endpoint routes everything to its single deployment.
            self.store.update_endpoint_spec(endpoint, {**record.spec, "traffic": {spec.name: 100}})
        self.store.add_event(
            "Created", f"Deployment {spec.name} created", endpoint=endpoint, deployment=spec.name
        )
        return self.deployment_view(dep)

    def update_deployment(self, endpoint: str, name: str, raw: dict[str, Any]) -> dict[str, Any]:
        self.live_endpoint(endpoint)
        current = self.store.get_deployment(endpoint, name)
        if _state(current.status) == ProvisioningState.DELETING:
            raise ConflictError(f"Deployment {name!r} is being deleted.")
        spec = self._validate_deployment(endpoint, {**raw, "name": name})
        self._check_quota(spec, endpoint)
        resolved = self._resolve(spec)
        new_spec = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
        if new_spec == current.spec and resolved["template"] == current.resolved.get("template"):
            return self.deployment_view(current)
        record = self.store.update_deployment_spec(endpoint, name, new_spec, resolved)
        status = {k: v for k, v in current.status.items() if k not in ("error",)}
        status["provisioning_state"] = ProvisioningState.UPDATING
        self.store.set_deployment_status(endpoint, name, status)
        self.store.add_event(
            "Updated", f"Deployment {name} updated", endpoint=endpoint, deployment=name
        )
        return self.deployment_view(self.store.get_deployment(endpoint, record.name))

    def delete_deployment(self, endpoint: str, name: str) -> None:
        ep = self.store.get_endpoint(endpoint)
        dep = self.store.get_deployment(endpoint, name)
        live = int(ep.spec.get("traffic", {}).get(name, 0))
        if live > 0 and not ep.local:
            raise ConflictError(
                f"Deployment {name!r} still receives {live}% of endpoint {endpoint!r}'s traffic. "
                f'Move its traffic first, e.g. `switchman online-endpoint update -n {endpoint} --traffic "{name}=0 ..."`.'
            )
        spec = dict(ep.spec)
        changed = False
        for key in ("traffic", "mirror_traffic"):
            if name in spec.get(key, {}):
                spec[key] = {k: v for k, v in spec[key].items() if k != name}
                changed = True
        if changed:
            check_traffic_rules(spec.get("traffic", {}), spec.get("mirror_traffic", {}))
            self.store.update_endpoint_spec(endpoint, spec)
        self.store.set_deployment_status(
            endpoint, name, {**dep.status, "provisioning_state": ProvisioningState.DELETING}
        )
        self.store.add_event(
            "Deleting", f"Deployment {name} is being deleted", endpoint=endpoint, deployment=name
        )

    def logs(
        self, endpoint: str, name: str, container: str, lines: int, read: Any
    ) -> dict[str, Any]:
        dep = self.store.get_deployment(endpoint, name)
        if container not in ("inference-server", "storage-initializer"):
            raise BadArgumentError(
                f"--container must be inference-server or storage-initializer, got {container!r}."
            )
        instances = self.store.list_instances(endpoint, name)
        current = [i for i in instances if i.template == dep.resolved.get("template")] or instances
        if not current:
            return {"container": container, "instance": None, "text": ""}
        # The newest instance of the current template: the one a user is debugging.
        latest = max(current, key=lambda i: i.created_at)
        variables = dict(dep.resolved.get("environment_variables") or {})
        return {
            "container": container,
            "instance": latest.id,
            "text": self.connections.mask(
                variables, read(Handle.from_json(latest.handle), container, lines)
            )
            if latest.handle
            else "",
        }


def _check_syntax(deployment: str, script: Path) -> None:
    try:
        ast.parse(script.read_text(), filename=str(script))
    except SyntaxError as exc:
        raise BadArgumentError(
            f"Failed to submit deployment {deployment} due to syntax errors in scoring script "
            f"{script}. Error on line {exc.lineno}: {exc.msg}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadArgumentError(f"Cannot read scoring script {script}: {exc}") from None


def _memory_limit(instance_type: str | None, variables: dict[str, str]) -> int | None:
    """The SKU's memory, unless the deployment sets a lower SWITCHMAN_MEMORY_LIMIT_MIB."""
    sku = find_sku(instance_type) if instance_type else None
    limit = int(sku.memory_gib * 1024) if sku else None
    override = variables.get("SWITCHMAN_MEMORY_LIMIT_MIB")
    if override:
        try:
            value = int(override)
        except ValueError:
            raise BadArgumentError(
                f"environment_variables.SWITCHMAN_MEMORY_LIMIT_MIB must be an integer (MiB), got {override!r}."
            ) from None
        limit = value if limit is None else min(limit, value)
    return limit
