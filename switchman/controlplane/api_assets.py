"""REST routes of the registry: ``/api/models`` and ``/api/environments`` (reference §5.5, §5.6).

Parse, call the store, serialise. Versions are immutable; a create without a version gets the next
integer ("1", "2", ...). A model's local ``path`` is snapshotted into the content-addressed asset
store at registration (``spec.asset``), so later edits of the user's files do not change it; an
environment's conda file arrives inlined (the CLI reads it, or the spec already holds a mapping).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from switchman.controlplane.views import AssetView, Pruned, spec_body
from switchman.environments import built_keys, prune
from switchman.environments.reference import inline
from switchman.errors import BadArgumentError, NotFoundError
from switchman.spec.environment import EnvironmentSpec
from switchman.spec.loader import validate
from switchman.spec.mlmodel import model_root, read_mlmodel
from switchman.spec.model import ModelSpec

router = APIRouter()

Kind = Literal["model", "environment"]
_REMOTE_PREFIXES = ("azureml:", "azureml://", "http://", "https://", "runs:/")


class AssetBody(BaseModel):
    spec: spec_body(ModelSpec, "The model or environment document, as in YAML.", EnvironmentSpec)  # type: ignore[valid-type]


def _platform(request: Request) -> Any:
    return request.app.state.platform


def _validated(kind: Kind, spec: dict[str, Any]) -> ModelSpec | EnvironmentSpec:
    cls: type[ModelSpec] | type[EnvironmentSpec] = ModelSpec if kind == "model" else EnvironmentSpec
    return validate(cls, spec, source="the request")


def view(record: dict[str, Any]) -> dict[str, Any]:
    """A registry record as `az ml model|environment show` prints it."""
    kind, name, version = record["kind"], record["name"], record["version"]
    spec = dict(record["spec"])
    spec.pop("$schema", None)
    segment = "models" if kind == "model" else "environments"
    created = datetime.fromtimestamp(float(record["created_at"]), UTC).isoformat()
    return {
        **spec,
        "name": name,
        "version": version,
        "id": f"azureml:/switchman/{segment}/{name}/versions/{version}",
        "creation_context": {"created_at": created, "created_by": "switchman"},
        "archived": bool(record.get("archived")),
    }


def _create(request: Request, kind: Kind, body: AssetBody) -> dict[str, Any]:
    platform = _platform(request)
    spec = _validated(kind, body.spec)
    if not spec.name:
        raise BadArgumentError(f"A {kind} needs a name: set `name:` in the YAML or pass -n/--name.")
    version = spec.version or platform.store.next_version(kind, spec.name)
    spec.version = version
    if isinstance(spec, ModelSpec):
        if not spec.path:
            raise BadArgumentError("A model needs a path: set `path:` in the YAML or pass --path.")
        local = not spec.path.startswith(_REMOTE_PREFIXES)
        mlflow: dict[str, Any] = {}
        if local and spec.type == "mlflow_model":  # checked before anything is stored (issue 11)
            spec.path = str(model_root(spec.path))
            mlflow = read_mlmodel(spec.path).summary()
        data = {**spec.to_dict(), **mlflow}
        if local:
            data["asset"] = platform.upload(spec.path)
    else:
        data = inline(spec)
    return view(platform.store.put_asset(kind, spec.name, version, data))


def _get(request: Request, kind: Kind, name: str, version: str | None) -> dict[str, Any]:
    found = _platform(request).store.get_asset(kind, name, version)
    if found is None:
        which = f"version {version}" if version else "a non-archived version"
        raise NotFoundError(
            f"{kind.capitalize()} {name!r} has no {which}. List what exists with "
            f"`switchman {kind} list -n {name}`."
        )
    return view(found)


# /api/models/... and /api/environments/...: the same routes for both kinds of registry entry.
Segment = Literal["models", "environments"]
_KIND: dict[str, Kind] = {"models": "model", "environments": "environment"}


@router.post(
    "/api/{segment}", status_code=201, response_model=AssetView, response_model_exclude_unset=True
)
def create_asset(request: Request, segment: Segment, body: AssetBody) -> dict[str, Any]:
    return _create(request, _KIND[segment], body)


@router.get("/api/{segment}", response_model=list[AssetView], response_model_exclude_unset=True)
def list_assets(
    request: Request, segment: Segment, name: str | None = None, include_archived: bool = False
) -> list[dict[str, Any]]:
    store = _platform(request).store
    return [view(r) for r in store.list_assets(_KIND[segment], name, include_archived)]


@router.get(
    "/api/{segment}/{name}/versions/{version}",
    response_model=AssetView,
    response_model_exclude_unset=True,
)
def get_asset(request: Request, segment: Segment, name: str, version: str) -> dict[str, Any]:
    return _get(request, _KIND[segment], name, version)


@router.get(
    "/api/{segment}/{name}/latest", response_model=AssetView, response_model_exclude_unset=True
)
def get_latest_asset(request: Request, segment: Segment, name: str) -> dict[str, Any]:
    return _get(request, _KIND[segment], name, None)


@router.post(
    "/api/models/{name}/versions/{version}/archive",
    response_model=AssetView,
    response_model_exclude_unset=True,
)
def archive_model(request: Request, name: str, version: str) -> dict[str, Any]:
    store = _platform(request).store
    store.archive_asset("model", name, version)
    return _get(request, "model", name, version)


@router.post("/api/environments/prune", response_model=Pruned, response_model_exclude_unset=True)
def prune_environments(request: Request) -> dict[str, Any]:
    """Remove built environments that no deployment uses; report what was removed and kept."""
    platform = _platform(request)
    in_use = set(platform.environment_hashes_in_use())
    removed = prune(platform.home, in_use)
    return {"removed": removed, "kept": built_keys(platform.home)}
