"""REST routes of batch endpoints (issue 10): parse, call ``switchman.batch.service``, serialise.

``router`` (admin token, under ``/api``): batch endpoints and deployments, jobs, computes, data
assets, the account token. ``public_router`` (no admin token): the worker exchange under
``/batch-worker`` (each job's own token) and the batch scoring URI's target ``/batch-jobs``
(the router forwards ``/endpoints/<e>/jobs`` there; it takes an ``account get-access-token`` JWT).
``background`` is the scheduler loop the control plane runs beside the reconciler.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from switchman.batch.leases import LeaseDesk
from switchman.batch.scheduler import BatchScheduler
from switchman.batch.service import BatchService
from switchman.batch.store import BatchStore
from switchman.controlplane.views import View, spec_body
from switchman.errors import BadArgumentError, UnauthorizedError
from switchman.spec.batch import BatchDeploymentSpec, BatchEndpointSpec
from switchman.spec.compute import AmlComputeSpec
from switchman.spec.data import DataSpec

ACCOUNT_AUDIENCE = (
    "account"  # tokens of `switchman account get-access-token`: aud switchman:account
)


@dataclass
class Batch:
    store: BatchStore
    scheduler: BatchScheduler
    service: BatchService
    desk: LeaseDesk


_BATCH: dict[int, Batch] = {}
_API_URL: dict[int, str] = {}
_LOCK = threading.Lock()


def batch_of(platform: Any) -> Batch:
    with _LOCK:
        found = _BATCH.get(id(platform))
        if found is None:
            store = BatchStore(platform.home.db_path)
            scheduler = BatchScheduler(
                platform.home, store, platform.backend, lambda: _api_url(platform)
            )
            found = Batch(
                store,
                scheduler,
                BatchService(platform, store, scheduler),
                LeaseDesk(platform.home, store),
            )
            _BATCH[id(platform)] = found
        return found


def _api_url(platform: Any) -> str:
    url = _API_URL.get(id(platform))
    if url:
        return url
    server = platform.home.read_server() or {}
    return str(server.get("api_url") or "http://127.0.0.1:0")


def background(platform: Any, api_url: str) -> Coroutine[Any, Any, None]:
    """The scheduler loop (started by the control plane's lifespan)."""
    _API_URL[id(platform)] = api_url
    return batch_of(platform).scheduler.run()


def _b(request: Request) -> Batch:
    return batch_of(request.app.state.platform)


class BatchEndpointBody(BaseModel):
    spec: spec_body(BatchEndpointSpec, "The batch endpoint document, as in YAML.")  # type: ignore[valid-type]


class BatchDeploymentBody(BaseModel):
    spec: spec_body(BatchDeploymentSpec, "The batch deployment document, as in YAML.")  # type: ignore[valid-type]
    set_default: bool = Field(default=False, description="Make this the endpoint's default.")


class ComputeBody(BaseModel):
    spec: spec_body(AmlComputeSpec, "The amlCompute document, as in YAML.")  # type: ignore[valid-type]


class DataBody(BaseModel):
    spec: spec_body(DataSpec, "The data asset document, as in YAML.")  # type: ignore[valid-type]


class BatchEndpointView(View):
    """A batch endpoint as `batch-endpoint show` prints it: its spec plus these keys."""

    name: str = Field(description="Endpoint name.")
    provisioning_state: str = Field(description="Succeeded.")
    scoring_uri: str = Field(description="POST jobs here (router port) with an access token.")


class BatchDeploymentView(View):
    name: str = Field(description="Deployment name.")
    endpoint_name: str = Field(description="Its batch endpoint.")
    provisioning_state: str = Field(description="Succeeded.")


class JobView(View):
    """A batch job: status (reference §4.6), inputs, outputs, settings, progress."""

    name: str = Field(description="Job name.")
    status: str = Field(description="NotStarted … Completed, Failed, Canceled, Paused.")
    progress: dict[str, Any] = Field(description="Mini-batches and items done, failed, total.")


class ComputeView(View):
    name: str = Field(description="Cluster name.")
    current_node_count: int = Field(description="Nodes provisioned now.")
    state: str = Field(description="Steady (idle) or Running (a job holds nodes).")


class DataView(View):
    name: str = Field(description="Data asset name.")
    version: str = Field(description="Version.")
    path: str = Field(description="azureml:// datastore path (local paths are uploaded).")


class Deleted(View):
    name: str = Field(description="What was deleted.")
    provisioning_state: str = Field(description="Deleted.")


class JobFiles(View):
    files: dict[str, str] = Field(description="Relative path → content, as `job download` writes.")


class AccessToken(View):
    accessToken: str = Field(description="Bearer token for batch scoring URIs.")
    expiresOn: str = Field(description="Expiry (UTC), as az prints it.")
    tokenType: str = Field(description="Bearer.")


class Paused(View):
    paused: int = Field(description="Jobs paused.")


class InvokeBody(BaseModel):
    deployment: str | None = Field(
        default=None, description="Deployment (default: the endpoint's)."
    )
    inputs: dict[str, dict[str, Any]] = Field(description="One input: {name: {type, path}}.")
    outputs: dict[str, dict[str, Any]] = Field(default_factory=dict, description="{score: {path}}.")
    job_name: str | None = Field(default=None, description="The job's name.")
    experiment_name: str | None = Field(default=None, description="Experiment (default: endpoint).")
    settings: dict[str, Any] = Field(default_factory=dict, description="Per-job overrides.")


router = APIRouter(prefix="/api")
public_router = APIRouter()

# -- batch endpoints -----------------------------------------------------------------------------


@router.get(
    "/batch-endpoints", response_model=list[BatchEndpointView], response_model_exclude_unset=True
)
def list_endpoints(request: Request) -> list[dict[str, Any]]:
    b = _b(request)
    return [b.service.endpoint_view(e) for e in b.store.list_endpoints()]


@router.post(
    "/batch-endpoints",
    status_code=201,
    response_model=BatchEndpointView,
    response_model_exclude_unset=True,
)
def create_endpoint(body: BatchEndpointBody, request: Request) -> dict[str, Any]:
    return _b(request).service.put_endpoint(body.spec)


@router.get(
    "/batch-endpoints/{name}", response_model=BatchEndpointView, response_model_exclude_unset=True
)
def show_endpoint(name: str, request: Request) -> dict[str, Any]:
    b = _b(request)
    return b.service.endpoint_view(b.store.get_endpoint(name))


@router.put(
    "/batch-endpoints/{name}", response_model=BatchEndpointView, response_model_exclude_unset=True
)
def update_endpoint(name: str, body: BatchEndpointBody, request: Request) -> dict[str, Any]:
    b = _b(request)
    b.store.get_endpoint(name)
    return b.service.put_endpoint(body.spec, name=name)


@router.delete(
    "/batch-endpoints/{name}",
    status_code=202,
    response_model=Deleted,
    response_model_exclude_unset=True,
)
def delete_endpoint(name: str, request: Request) -> dict[str, Any]:
    _b(request).service.delete_endpoint(name)
    return {"name": name, "provisioning_state": "Deleted"}


@router.get(
    "/batch-endpoints/{name}/jobs", response_model=list[JobView], response_model_exclude_unset=True
)
def endpoint_jobs(name: str, request: Request) -> list[dict[str, Any]]:
    b = _b(request)
    b.store.get_endpoint(name)
    return [b.service.job_view(j) for j in b.store.list_jobs(name)]


@router.post(
    "/batch-endpoints/{name}/jobs",
    status_code=201,
    response_model=JobView,
    response_model_exclude_unset=True,
)
def invoke(name: str, body: InvokeBody, request: Request) -> dict[str, Any]:
    return _b(request).service.invoke(name, body.model_dump())


# -- batch deployments ---------------------------------------------------------------------------


@router.get(
    "/batch-endpoints/{endpoint}/deployments",
    response_model=list[BatchDeploymentView],
    response_model_exclude_unset=True,
)
def list_deployments(endpoint: str, request: Request) -> list[dict[str, Any]]:
    b = _b(request)
    b.store.get_endpoint(endpoint)
    return [b.service.deployment_view(d) for d in b.store.list_deployments(endpoint)]


@router.post(
    "/batch-endpoints/{endpoint}/deployments",
    status_code=201,
    response_model=BatchDeploymentView,
    response_model_exclude_unset=True,
)
def create_deployment(endpoint: str, body: BatchDeploymentBody, request: Request) -> dict[str, Any]:
    return _b(request).service.put_deployment(endpoint, body.spec, set_default=body.set_default)


@router.get(
    "/batch-endpoints/{endpoint}/deployments/{name}",
    response_model=BatchDeploymentView,
    response_model_exclude_unset=True,
)
def show_deployment(endpoint: str, name: str, request: Request) -> dict[str, Any]:
    b = _b(request)
    return b.service.deployment_view(b.store.get_deployment(endpoint, name))


@router.put(
    "/batch-endpoints/{endpoint}/deployments/{name}",
    response_model=BatchDeploymentView,
    response_model_exclude_unset=True,
)
def update_deployment(
    endpoint: str, name: str, body: BatchDeploymentBody, request: Request
) -> dict[str, Any]:
    b = _b(request)
    b.store.get_deployment(endpoint, name)
    return b.service.put_deployment(endpoint, body.spec, set_default=body.set_default, name=name)


@router.delete(
    "/batch-endpoints/{endpoint}/deployments/{name}",
    status_code=202,
    response_model=Deleted,
    response_model_exclude_unset=True,
)
def delete_deployment(endpoint: str, name: str, request: Request) -> dict[str, Any]:
    _b(request).service.delete_deployment(endpoint, name)
    return {"name": name, "provisioning_state": "Deleted"}


@router.get(
    "/batch-endpoints/{endpoint}/deployments/{name}/jobs",
    response_model=list[JobView],
    response_model_exclude_unset=True,
)
def deployment_jobs(endpoint: str, name: str, request: Request) -> list[dict[str, Any]]:
    b = _b(request)
    b.store.get_deployment(endpoint, name)
    return [b.service.job_view(j) for j in b.store.list_jobs(endpoint, name)]


# -- jobs ----------------------------------------------------------------------------------------


@router.get("/jobs", response_model=list[JobView], response_model_exclude_unset=True)
def list_jobs(request: Request) -> list[dict[str, Any]]:
    b = _b(request)
    return [b.service.job_view(j) for j in b.store.list_jobs()]


@router.get("/jobs/{name}", response_model=JobView, response_model_exclude_unset=True)
def show_job(name: str, request: Request) -> dict[str, Any]:
    b = _b(request)
    return b.service.job_view(b.store.get_job(name))


@router.post("/jobs/{name}/cancel", response_model=JobView, response_model_exclude_unset=True)
def cancel_job(name: str, request: Request) -> dict[str, Any]:
    return _b(request).service.cancel(name)


@router.get("/jobs/{name}/files", response_model=JobFiles, response_model_exclude_unset=True)
def job_files(
    name: str, request: Request, all: bool = False, output_name: str | None = None
) -> dict[str, Any]:
    """`job download`: every file as text (utf-8, lossless for the CSV/log files a job writes)."""
    tree = _b(request).service.files(name, all, output_name)
    return {"files": {path: data.decode("utf-8", "replace") for path, data in tree.items()}}


# -- computes ------------------------------------------------------------------------------------


@router.get("/computes", response_model=list[ComputeView], response_model_exclude_unset=True)
def list_computes(request: Request) -> list[dict[str, Any]]:
    b = _b(request)
    return [b.service.compute_view(c) for c in b.store.list_computes()]


@router.post(
    "/computes", status_code=201, response_model=ComputeView, response_model_exclude_unset=True
)
def create_compute(body: ComputeBody, request: Request) -> dict[str, Any]:
    return _b(request).service.create_compute(body.spec)


@router.get("/computes/{name}", response_model=ComputeView, response_model_exclude_unset=True)
def show_compute(name: str, request: Request) -> dict[str, Any]:
    b = _b(request)
    return b.service.compute_view(b.service.get_compute(name))


@router.delete(
    "/computes/{name}", status_code=202, response_model=Deleted, response_model_exclude_unset=True
)
def delete_compute(name: str, request: Request) -> dict[str, Any]:
    _b(request).service.delete_compute(name)
    return {"name": name, "provisioning_state": "Deleted"}


# -- data assets ---------------------------------------------------------------------------------


@router.get("/data", response_model=list[DataView], response_model_exclude_unset=True)
def list_data(request: Request, name: str | None = None) -> list[dict[str, Any]]:
    b = _b(request)
    platform = request.app.state.platform
    return [b.service.data_view(r) for r in platform.store.list_assets("data", name)]


@router.post("/data", status_code=201, response_model=DataView, response_model_exclude_unset=True)
def create_data(body: DataBody, request: Request) -> dict[str, Any]:
    return _b(request).service.create_data(body.spec)


@router.get(
    "/data/{name}/versions/{version}", response_model=DataView, response_model_exclude_unset=True
)
def show_data(name: str, version: str, request: Request) -> dict[str, Any]:
    b = _b(request)
    return b.service.data_view(b.service.get_data(name, version))


@router.get("/data/{name}/latest", response_model=DataView, response_model_exclude_unset=True)
def show_latest_data(name: str, request: Request) -> dict[str, Any]:
    b = _b(request)
    return b.service.data_view(b.service.get_data(name, None))


# -- account and admin ---------------------------------------------------------------------------


@router.post("/account/access-token", response_model=AccessToken, response_model_exclude_unset=True)
def access_token(request: Request) -> dict[str, Any]:
    """`az account get-access-token`'s shape: a token the batch scoring URI accepts."""
    token = request.app.state.platform.vault.issue_token(ACCOUNT_AUDIENCE)
    expires = datetime.fromtimestamp(int(token["expiryTimeUtc"]), UTC)
    return {
        "accessToken": token["accessToken"],
        "expiresOn": expires.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "expires_on": int(token["expiryTimeUtc"]),
        "subscription": "switchman",
        "tenant": "switchman",
        "tokenType": "Bearer",
    }


@router.post("/batch-admin/pause", response_model=Paused, response_model_exclude_unset=True)
def pause(request: Request) -> dict[str, Any]:
    """`switchman down`: stop every worker; running jobs become Paused (resumed by `up`)."""
    return {"paused": _b(request).scheduler.pause_all()}


# -- the worker exchange (per-job token) ---------------------------------------------------------


def _job(request: Request, job: str) -> Any:
    return _b(request).desk.authorize(job, request.headers.get("authorization"))


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        raise BadArgumentError("The request body must be JSON.") from None
    if not isinstance(data, dict):
        raise BadArgumentError("The request body must be a JSON object.")
    return data


@public_router.post("/batch-worker/jobs/{job}/workers/{worker}/ready", include_in_schema=False)
def worker_ready(job: str, worker: str, request: Request) -> dict[str, Any]:
    return _b(request).desk.ready(_job(request, job), worker)


@public_router.post(
    "/batch-worker/jobs/{job}/workers/{worker}/init-failed", include_in_schema=False
)
async def worker_init_failed(job: str, worker: str, request: Request) -> dict[str, Any]:
    body = await _json(request)
    return _b(request).desk.init_failed(_job(request, job), worker, body)


@public_router.post("/batch-worker/jobs/{job}/workers/{worker}/lease", include_in_schema=False)
def worker_lease(job: str, worker: str, request: Request) -> dict[str, Any]:
    return _b(request).desk.lease(_job(request, job), worker)


@public_router.post("/batch-worker/jobs/{job}/minibatches/{index}/result", include_in_schema=False)
async def worker_result(job: str, index: int, request: Request) -> dict[str, Any]:
    body = await _json(request)
    record = _job(request, job)
    import anyio.to_thread

    return await anyio.to_thread.run_sync(_b(request).desk.result, record, index, body)


@public_router.get("/batch-worker/jobs/{job}/files/{index}/{position}", include_in_schema=False)
def worker_file(job: str, index: int, position: int, request: Request) -> FileResponse:
    return FileResponse(_b(request).desk.input_file(_job(request, job), index, position))


# -- the batch scoring URI (forwarded by the router) ---------------------------------------------

_INPUT_TYPES = {"urifolder": "uri_folder", "urifile": "uri_file"}


def rest_invoke_body(body: dict[str, Any]) -> dict[str, Any]:
    """The reference §4.3 REST body → an :class:`InvokeBody` dict; BadArgument names the field."""
    props = body.get("properties")
    if not isinstance(props, dict):
        raise BadArgumentError(
            'The body needs "properties": {"InputData": {...}} (reference §4.3).'
        )
    inputs = props.get("InputData")
    if not isinstance(inputs, dict) or len(inputs) != 1:
        raise BadArgumentError(
            'properties.InputData must hold exactly one input, e.g. {"heart_dataset": '
            '{"JobInputType": "UriFolder", "Uri": "azureml:heart-data@latest"}}.'
        )
    name, entry = next(iter(inputs.items()))
    if not isinstance(entry, dict) or not isinstance(entry.get("Uri"), str):
        raise BadArgumentError(f"properties.InputData.{name}.Uri must be a string.")
    kind = str(entry.get("JobInputType") or "UriFolder").lower()
    if kind not in _INPUT_TYPES:
        raise BadArgumentError(
            f"properties.InputData.{name}.JobInputType {entry.get('JobInputType')!r} is not "
            "supported by model deployments: use UriFolder or UriFile."
        )
    out: dict[str, Any] = {}
    outputs = props.get("OutputData") or {}
    if not isinstance(outputs, dict):
        raise BadArgumentError("properties.OutputData must be an object.")
    for out_name, item in outputs.items():
        if not isinstance(item, dict) or not isinstance(item.get("Uri"), str):
            raise BadArgumentError(f"properties.OutputData.{out_name}.Uri must be a string.")
        out_kind = _INPUT_TYPES.get(
            str(item.get("JobOutputType") or "UriFolder").lower(), "uri_folder"
        )
        out[out_name] = {"type": out_kind, "path": item["Uri"]}
    extra = props.get("properties") or {}
    return {
        "inputs": {name: {"type": _INPUT_TYPES[kind], "path": entry["Uri"]}},
        "outputs": out,
        "experiment_name": extra.get("experimentName") if isinstance(extra, dict) else None,
        "settings": {},
    }


@public_router.post(
    "/batch-jobs/endpoints/{endpoint}/jobs", status_code=201, include_in_schema=False
)
async def scoring_invoke(endpoint: str, request: Request) -> dict[str, Any]:
    import jwt

    platform = request.app.state.platform
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise jwt.InvalidTokenError("no bearer token")
        jwt.decode(
            token.strip(),
            platform.vault.public_key_pem,
            algorithms=["EdDSA"],
            audience=f"switchman:{ACCOUNT_AUDIENCE}",
        )
    except jwt.InvalidTokenError as exc:
        raise UnauthorizedError(
            f"Batch endpoints take an Entra-style token ({exc}): get one with "
            "`switchman account get-access-token --query accessToken -o tsv`."
        ) from None
    body = rest_invoke_body(await _json(request))
    body["deployment"] = request.headers.get("azureml-model-deployment") or None
    import anyio.to_thread

    b = _b(request)
    return await anyio.to_thread.run_sync(b.service.invoke, endpoint, body)


def job_path(name: str) -> str:
    return f"/api/jobs/{quote(name, safe='')}"


__all__ = ["Response", "background", "batch_of", "public_router", "rest_invoke_body", "router"]
