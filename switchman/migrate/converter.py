"""One v1 web service (ACI or AKS) → an online endpoint spec, a deployment spec and a conda file.

:func:`convert` is pure apart from reading the input files and checking that paths exist: it writes
nothing and creates nothing, so bad input stops the command before any file or resource exists.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchman.errors import BadArgumentError, SpecFileError
from switchman.migrate.auth import AuthPlan, plan_auth
from switchman.migrate.inference import CodePlan, plan_code, plan_environment
from switchman.migrate.ledger import Ledger
from switchman.migrate.scaling import ScalePlan, plan_scaling
from switchman.migrate.sizing import SizingError, pick_instance_type
from switchman.migrate.source import V1Inputs, integer, number
from switchman.spec.deployment import OnlineDeploymentSpec
from switchman.spec.endpoint import OnlineEndpointSpec
from switchman.spec.loader import validate
from switchman.spec.names import name_problem

ENDPOINT_SCHEMA = "https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json"
DEPLOYMENT_SCHEMA = (
    "https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json"
)
V1_DEFAULT_CPU = 0.1
V1_DEFAULT_MEMORY_GB = 0.5
MODEL_REF = re.compile(r"^(?:azureml:)?([A-Za-z0-9][A-Za-z0-9_.\-]*):(\d+)$")

# Settings kept whole in the ledger (their content is one value, not settings of their own).
OPAQUE = (
    "tags",
    "kvTags",
    "properties",
    "imageDetails",
    "error",
    "environmentDetails.python.condaDependencies",
    "environmentDetails.environmentVariables",
    "environment.python.condaDependencies",
    "environment.environmentVariables",
)
# Status that `az ml service show` prints next to the settings.
READ_ONLY = (
    "state",
    "createdTime",
    "updatedTime",
    "error",
    "workspaceName",
    "imageId",
    "imageDigest",
    "imageDetails",
    "swaggerUri",
    "createdBy",
    "publicIp",
    "publicFqdn",
    "deploymentStatus",
    "id",
    "operationId",
    "resourceId",
)
TLS_KEYS = ("sslEnabled", "sslCertificate", "sslKey", "cname")
CMK_KEYS = ("encryptionProperties", "vaultBaseUrl", "keyName", "keyVersion")
VNET_KEYS = ("vnetConfiguration", "vnetName", "subnetName")


@dataclass(frozen=True)
class MigrationRequest:
    """What the user asked for.

    Attributes:
        inputs: the v1 documents.
        endpoint_name: --endpoint-name (None → the v1 service name from the service JSON).
        deployment_name: --deployment-name.
        model: --model: a file/folder path (relative to ``cwd``) or ``name:version``; None → the
            service JSON's only model.
        output_dir: where the files go; generated paths are relative to it.
        cwd: the folder relative --model paths resolve against.
    """

    inputs: V1Inputs
    endpoint_name: str | None
    deployment_name: str
    model: str | None
    output_dir: Path
    cwd: Path


@dataclass
class Migration:
    """The converted service: specs ready to write, and the ledger of every setting."""

    request: MigrationRequest
    endpoint: dict[str, Any]
    deployment: dict[str, Any]
    conda: dict[str, Any] | None
    code: CodePlan
    auth: AuthPlan
    scale: ScalePlan
    instance_type: str
    model_ref: tuple[str, str] | None
    old_scoring_uri: str | None
    ledger: Ledger

    @property
    def endpoint_name(self) -> str:
        return str(self.endpoint["name"])

    @property
    def deployment_name(self) -> str:
        return str(self.deployment["name"])

    @property
    def warnings(self) -> list[str]:
        return self.ledger.warnings


def convert(request: MigrationRequest) -> Migration:
    """Convert one v1 service; raises SwitchmanError (naming file, field, value) on bad input."""
    inputs = request.inputs
    ledger = Ledger()
    ledger.observe(inputs.service_source, inputs.service, OPAQUE)
    ledger.observe(inputs.inference_source, inputs.inference, OPAQUE)
    out_dir = request.output_dir.resolve()

    _check_compute_type(inputs, ledger)
    endpoint_name = _endpoint_name(request, ledger)
    deployment_name = request.deployment_name
    problem = name_problem(deployment_name, "a deployment")
    if problem:
        raise BadArgumentError(f"--deployment-name {deployment_name!r}: {problem}")

    instance_type = _instance_type(inputs, ledger)
    auth = plan_auth(inputs, ledger)
    scale = plan_scaling(inputs, ledger)
    code = plan_code(inputs.inference, inputs.inference_path, out_dir, ledger)
    service_env = inputs.service.get("environmentDetails") if inputs.from_service_json else None
    env = plan_environment(
        inputs.inference,
        inputs.inference_path,
        ledger,
        service_env=service_env if isinstance(service_env, dict) else None,
        service_source=inputs.service_source,
    )
    model, model_ref = _model(request, ledger, out_dir)
    endpoint = _endpoint_spec(inputs, endpoint_name, auth, ledger)
    app_insights = _app_insights(inputs, ledger)
    _not_carried(inputs, ledger)

    deployment: dict[str, Any] = {
        "$schema": DEPLOYMENT_SCHEMA,
        "name": deployment_name,
        "endpoint_name": endpoint_name,
    }
    description = inputs.inference.get("description")
    if isinstance(description, str) and description:
        deployment["description"] = description
        ledger.mapped(inputs.inference_source, "description", "deployment description")
    if scale.hint_tags:
        deployment["tags"] = scale.hint_tags
    deployment["model"] = model
    deployment["code_configuration"] = {
        "code": _relative(code.code_dir, out_dir),
        "scoring_script": code.scoring_script,
    }
    if env.spec is not None:
        deployment["environment"] = env.spec
    if env.variables:
        deployment["environment_variables"] = env.variables
    deployment["instance_type"] = instance_type
    deployment["instance_count"] = scale.instance_count
    deployment["app_insights_enabled"] = app_insights
    if scale.request_settings:
        deployment["request_settings"] = scale.request_settings
    if scale.liveness_probe:
        deployment["liveness_probe"] = scale.liveness_probe
    if scale.readiness_probe:
        deployment["readiness_probe"] = scale.readiness_probe

    # Validate what will be written with the same models `online-*/create` uses.
    validate(OnlineEndpointSpec, endpoint, source="the generated endpoint.yml")
    validate(OnlineDeploymentSpec, deployment, source="the generated deployment.yml")
    old_uri = inputs.service.get("scoringUri") if inputs.from_service_json else None
    ledger.finish()
    return Migration(
        request=request,
        endpoint=endpoint,
        deployment=deployment,
        conda=env.conda,
        code=code,
        auth=auth,
        scale=scale,
        instance_type=instance_type,
        model_ref=model_ref,
        old_scoring_uri=str(old_uri) if isinstance(old_uri, str) and old_uri else None,
        ledger=ledger,
    )


def _relative(path: Path, out_dir: Path) -> str:
    """``path`` as the generated YAML names it.

    Relative to the output folder when the two share a folder below the filesystem root, so the
    project (output folder and sources together) can move or be checked in; absolute otherwise
    (e.g. output in /tmp, sources in a project), where a relative path would only break later.
    """
    common = Path(os.path.commonpath([path, out_dir]))
    if common == Path(common.anchor):
        return path.as_posix()
    return Path(os.path.relpath(path, out_dir)).as_posix()


def _check_compute_type(inputs: V1Inputs, ledger: Ledger) -> None:
    src, file, kind = inputs.service_source, inputs.service_path, inputs.kind
    value = inputs.service.get("computeType")
    if value is None:
        ledger.defaulted("computeType", kind.upper(), "(converter)", f"taken from `migrate {kind}`")
        return
    text = str(value).strip().lower()
    if text == kind:
        ledger.mapped(src, "computeType", "(converter)", f"a v1 {kind.upper()} service")
        return
    if text in ("aci", "aks"):
        raise SpecFileError(
            f"{file}: computeType is {value!r}, an {text.upper()} service; convert it with "
            f"`switchman migrate {text}` instead of `switchman migrate {kind}`."
        )
    raise SpecFileError(
        f"{file}: computeType {value!r} cannot be migrated; only v1 ACI and AKS web services "
        f"can. Set computeType to {kind.upper()!r} if this is an {kind.upper()} service."
    )


def _endpoint_name(request: MigrationRequest, ledger: Ledger) -> str:
    inputs = request.inputs
    src = inputs.service_source
    v1_name = inputs.service.get("name")
    name = request.endpoint_name
    if name is None:
        if not isinstance(v1_name, str) or not v1_name:
            raise BadArgumentError(
                "--endpoint-name is required (the input has no v1 service name to reuse)."
            )
        name = v1_name
        ledger.mapped(
            src, "name", "endpoint name", "no --endpoint-name: the v1 service name is kept"
        )
        flag = f"the v1 service name {name!r} (from {src}; pass --endpoint-name to choose another)"
    else:
        if v1_name is not None:
            ledger.dropped(src, "name", f"--endpoint-name {name} is used instead")
        flag = f"--endpoint-name {name!r}"
    problem = name_problem(name, "an endpoint")
    if problem:
        raise BadArgumentError(f"{flag}: {problem}")
    return name


def _instance_type(inputs: V1Inputs, ledger: Ledger) -> str:
    svc, file, src = inputs.service, inputs.service_path, inputs.service_source
    crr = svc.get("containerResourceRequirements")
    if crr is not None and not isinstance(crr, dict):
        raise SpecFileError(
            f"{file}: containerResourceRequirements must be an object like "
            '{"cpu": 1, "memoryInGB": 1}, got ' + repr(crr) + "."
        )
    crr = crr or {}
    prefix = "containerResourceRequirements"
    cpu = (
        number(crr["cpu"], file, f"{prefix}.cpu") if crr.get("cpu") is not None else V1_DEFAULT_CPU
    )
    memory = (
        number(crr["memoryInGB"], file, f"{prefix}.memoryInGB")
        if crr.get("memoryInGB") is not None
        else V1_DEFAULT_MEMORY_GB
    )
    gpu_key = f"{prefix}.gpu" if crr.get("gpu") is not None else "gpuCores"
    gpu_raw = crr.get("gpu") if crr.get("gpu") is not None else svc.get("gpuCores")
    gpus = integer(gpu_raw, file, gpu_key) if gpu_raw is not None else 0
    try:
        sizing = pick_instance_type(cpu, memory, gpus)
    except SizingError as exc:
        raise SpecFileError(
            f"{file}: {prefix} cannot be mapped to an instance type: {exc}. Lower the request."
        ) from None
    how = "official CPU/memory table" if sizing.from_table else "smallest SKU that holds it"
    target = f"instance_type: {sizing.instance_type}"
    for field, default in (
        ("cpu", V1_DEFAULT_CPU),
        ("memoryInGB", V1_DEFAULT_MEMORY_GB),
    ):
        if crr.get(field) is not None:
            ledger.mapped(src, f"{prefix}.{field}", target, how)
        else:
            ledger.defaulted(f"{prefix}.{field}", default, target, f"v1 default; {how}")
    if gpu_raw is not None:
        ledger.mapped(src, gpu_key, target, "GPU count" if gpus else "no GPU: a CPU SKU")
    for field in ("cpuLimit", "memoryInGBLimit"):
        if crr.get(field) is not None:
            ledger.dropped(
                src, f"{prefix}.{field}", "a SKU has a fixed size; the instance may use all of it"
            )
    if sizing.warning:
        ledger.warn(sizing.warning)
    return sizing.instance_type


def _model(
    request: MigrationRequest, ledger: Ledger, out_dir: Path
) -> tuple[Any, tuple[str, str] | None]:
    """The deployment's ``model`` value and, for a registered model, its (name, version)."""
    inputs = request.inputs
    src = inputs.service_source
    details = inputs.service.get("modelDetails") if inputs.from_service_json else None
    listed = [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []
    arg = request.model
    if arg is not None:
        if details is not None:
            ledger.dropped(src, "modelDetails", f"--model {arg} is used instead")
        return _model_argument(arg, request.cwd, out_dir)
    if len(listed) == 1 and listed[0].get("name") and listed[0].get("version") is not None:
        name, version = str(listed[0]["name"]), str(listed[0]["version"])
        ledger.mapped(
            src,
            "modelDetails",
            f"model: azureml:{name}:{version}",
            "register it in Switchman first (`switchman model create`), or pass --model PATH",
        )
        return f"azureml:{name}:{version}", (name, version)
    if len(listed) > 1:
        names = ", ".join(f"{d.get('name')}:{d.get('version')}" for d in listed)
        raise BadArgumentError(
            f"The v1 service in {inputs.service_path} has {len(listed)} models ({names}); an online "
            "deployment has one. Pass --model with a folder holding all of them, or one name:version."
        )
    raise BadArgumentError(
        "--model is required: pass the model file or folder (--model ./model.pkl) or a registered "
        "model as name:version (--model my-model:1)."
    )


def _model_argument(arg: str, cwd: Path, out_dir: Path) -> tuple[Any, tuple[str, str] | None]:
    text = arg.strip()
    path = Path(text).expanduser()
    path = path if path.is_absolute() else cwd / path
    if not text.startswith("azureml:") and path.exists():
        return {"path": _relative(path.resolve(), out_dir)}, None
    match = MODEL_REF.match(text)
    if match:
        return f"azureml:{match.group(1)}:{match.group(2)}", (match.group(1), match.group(2))
    raise BadArgumentError(
        f"--model {arg!r}: the model path {path} does not exist, and it is not a registered model "
        "reference (name:version). Fix the path or give name:version."
    )


def _endpoint_spec(inputs: V1Inputs, name: str, auth: AuthPlan, ledger: Ledger) -> dict[str, Any]:
    svc, src = inputs.service, inputs.service_source
    endpoint: dict[str, Any] = {
        "$schema": ENDPOINT_SCHEMA,
        "name": name,
        "auth_mode": auth.auth_mode,
    }
    description = svc.get("description")
    if isinstance(description, str) and description:
        endpoint["description"] = description
        ledger.mapped(src, "description", "endpoint description")
    tags: dict[str, str] = {}
    for key in ("tags", "kvTags"):
        value = svc.get(key)
        if isinstance(value, dict):
            tags.update({str(k): "" if v is None else str(v) for k, v in value.items()})
            ledger.mapped(src, key, "endpoint tags")
    if tags:
        endpoint["tags"] = tags
    return endpoint


def _app_insights(inputs: V1Inputs, ledger: Ledger) -> bool:
    value = inputs.service.get("appInsightsEnabled")
    if value is None:
        ledger.defaulted("appInsightsEnabled", False, "app_insights_enabled: false", "v1 default")
        return False
    if not isinstance(value, bool):
        raise SpecFileError(
            f"{inputs.service_path}: appInsightsEnabled must be true or false, got {value!r}."
        )
    ledger.mapped(
        inputs.service_source, "appInsightsEnabled", f"app_insights_enabled: {str(value).lower()}"
    )
    return value


def _not_carried(inputs: V1Inputs, ledger: Ledger) -> None:
    """Record the v1 settings with no v2 counterpart, with a warning where clients may notice."""
    svc, src = inputs.service, inputs.service_source
    tls_on = svc.get("sslEnabled") is True or any(
        svc.get(k) for k in ("sslCertificate", "sslKey", "cname")
    )
    for key in TLS_KEYS:
        if ledger.seen(src, key):
            ledger.dropped(
                src,
                key,
                "the new endpoint's TLS and URI are Switchman's; custom certificates and CNAMEs are not carried",
            )
    if tls_on:
        ledger.warn(
            "TLS settings (sslEnabled, sslCertificate/sslKey, cname) are not carried: the new endpoint's "
            "TLS and URI are Switchman's. Put your own TLS proxy in front of the router, or use "
            "`switchman up --public-host`, and point clients at the new scoring URI."
        )
    if ledger.seen(src, "dnsNameLabel"):
        ledger.dropped(src, "dnsNameLabel", "the new endpoint's URI is Switchman's", warn=True)
    for key in CMK_KEYS:
        if ledger.seen(src, key):
            ledger.dropped(
                src,
                key,
                "customer-managed key encryption (Key Vault) is not carried; Switchman encrypts secrets "
                "with the key in $SWITCHMAN_HOME",
                warn=True,
            )
    for key in VNET_KEYS:
        if ledger.seen(src, key):
            ledger.dropped(
                src,
                key,
                "VNet settings are not carried; Switchman binds to loopback unless `switchman up` is told "
                "otherwise, so place the host in the network you need",
                warn=True,
            )
    if ledger.seen(src, "location"):
        ledger.dropped(src, "location", "no regions: the endpoint runs where Switchman runs")
    if ledger.seen(src, "properties"):
        ledger.dropped(src, "properties", "endpoint properties are read-only in v2")
    for key in ("collectModelData", "dataCollection"):
        if ledger.seen(src, key):
            enabled = svc.get(key) is True or (
                isinstance(svc.get(key), dict) and any(v is True for v in svc[key].values())
            )
            ledger.dropped(
                src,
                key,
                "v1 model data collection is not carried; use the v2 data_collector and a Collector in "
                "score.py",
                warn=enabled,
            )
    if ledger.seen(src, "overwrite"):
        ledger.dropped(src, "overwrite", "a v1 deploy flag, not a service setting")
    if ledger.seen(src, "scoringUri"):
        ledger.dropped(
            src, "scoringUri", "the new endpoint has its own scoring URI (see the summary)"
        )
    for key in READ_ONLY:
        if ledger.seen(src, key):
            ledger.dropped(src, key, "read-only state of the v1 service, not a setting")
    if inputs.kind == "aks":
        aks_only = {
            "computeName": "managed endpoints need no AKS cluster",
            "computeTargetName": "managed endpoints need no AKS cluster",
            "namespace": "managed endpoints have no Kubernetes namespace",
            "isDefault": "AKS endpoint versioning; the new endpoint sends 100% of traffic to this deployment",
            "trafficPercentile": "AKS endpoint versioning; the new endpoint sends 100% of traffic to this deployment",
            "versionType": "AKS endpoint versioning; no v2 equivalent",
            "type": "AKS endpoint versioning; no v2 equivalent",
        }
        for key, reason in aks_only.items():
            if ledger.seen(src, key):
                ledger.dropped(src, key, reason)
