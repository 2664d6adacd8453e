"""REST routes of the control plane: parse, call the service, serialise. Nothing else."""

from __future__ import annotations

import importlib
import logging
import secrets as pysecrets
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from switchman.controlplane import artifacts
from switchman.controlplane.openapi import ERRORS, VersionedPaths, document
from switchman.controlplane.platform import Platform
from switchman.controlplane.service import endpoint_key
from switchman.controlplane.views import (
    Credentials,
    Deleting,
    DeploymentView,
    EndpointView,
    Health,
    Info,
    Keys,
    Logs,
    Stopped,
    spec_body,
)
from switchman.errors import SwitchmanError, UnauthorizedError
from switchman.spec.deployment import OnlineDeploymentSpec
from switchman.spec.endpoint import OnlineEndpointSpec

logger = logging.getLogger(__name__)

# Optional routers other parts contribute (registry, monitoring); absent modules are skipped.
# api_batch comes first: api_assets' `/api/{segment}` would otherwise catch `/api/computes`.
EXTRA_ROUTERS = (
    "switchman.controlplane.api_batch",
    "switchman.controlplane.api_connections",  # before api_assets: its /api/{segment} would match
    "switchman.controlplane.api_rollout",  # before api_assets, for the same reason
    "switchman.controlplane.api_assets",
    "switchman.controlplane.api_monitor",
    "switchman.controlplane.api_autoscale",
    "switchman.controlplane.api_studio",
)


class EndpointBody(BaseModel):
    spec: spec_body(OnlineEndpointSpec, "The endpoint document, as in endpoint.yml.")  # type: ignore[valid-type]
    local: bool = Field(default=False, description="A local endpoint (no auth, one deployment).")


class DeploymentBody(BaseModel):
    spec: spec_body(OnlineDeploymentSpec, "The deployment document, as in deployment.yml.")  # type: ignore[valid-type]
    local: bool = Field(
        default=False, description="Create: on a local endpoint (created when missing)."
    )


class RegenerateBody(BaseModel):
    key_type: str = Field(default="primary", description="primary or secondary.")
    key_value: str | None = Field(
        default=None, description="Set this key value instead of a random one."
    )


# `?local=true` addresses the local endpoint of that name (it may live beside a managed one).
LocalFlag = Query(default=False, description="Address the local endpoint of this name.")


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def require_admin(request: Request) -> None:
    expected: str = request.app.state.admin_token
    given = request.headers.get("authorization", "")
    if not given and studio_session(request):
        return  # a signed-in studio browser (switchman.studio.sessions): same routes, same checks
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not pysecrets.compare_digest(
        token.encode(), expected.encode()
    ):
        raise UnauthorizedError(
            "The control-plane API needs the admin token from $SWITCHMAN_HOME/admin-token "
            "(Authorization: Bearer <token>)."
        )


def studio_session(request: Request) -> bool:
    """A valid studio session cookie (CSRF-checked for unsafe methods); raises on a CSRF failure."""
    sessions = getattr(request.app.state, "studio", None)
    if sessions is None:
        return False
    from switchman.studio.sessions import COOKIE, CSRF_HEADER
    from switchman.studio.web import own_origin

    return bool(
        sessions.authorize(
            request.method,
            request.cookies.get(COOKIE),
            request.headers.get(CSRF_HEADER),
            request.headers.get("origin"),
            own_origin(request),
        )
    )


# Every route declares its response model; `responses=ERRORS` documents the error answers.
router = APIRouter(prefix="/api", dependencies=[Depends(require_admin)], responses=ERRORS)


@router.get(
    "/online-endpoints", response_model=list[EndpointView], response_model_exclude_unset=True
)
def list_endpoints(request: Request) -> list[dict[str, Any]]:
    p = platform_of(request)
    return [p.service.endpoint_view(r) for r in p.store.list_endpoints()]


@router.post(
    "/online-endpoints",
    status_code=201,
    response_model=EndpointView,
    response_model_exclude_unset=True,
)
def create_endpoint(body: EndpointBody, request: Request) -> dict[str, Any]:
    p = platform_of(request)
    view = p.service.create_endpoint(body.spec, local=body.local)
    p.publisher.publish()
    return view


@router.get(
    "/online-endpoints/{name}", response_model=EndpointView, response_model_exclude_unset=True
)
def show_endpoint(name: str, request: Request, local: bool = LocalFlag) -> dict[str, Any]:
    p = platform_of(request)
    return p.service.endpoint_view(p.store.get_endpoint(endpoint_key(name, local)))


@router.put(
    "/online-endpoints/{name}", response_model=EndpointView, response_model_exclude_unset=True
)
def update_endpoint(
    name: str, body: EndpointBody, request: Request, local: bool = LocalFlag
) -> dict[str, Any]:
    p = platform_of(request)
    view = p.service.update_endpoint(endpoint_key(name, local), body.spec)
    p.publisher.publish()
    return view


@router.delete("/online-endpoints/{name}", status_code=202, response_model=Deleting)
def delete_endpoint(name: str, request: Request, local: bool = LocalFlag) -> dict[str, Any]:
    p = platform_of(request)
    p.service.delete_endpoint(endpoint_key(name, local))
    p.publisher.publish()
    return {"name": name, "provisioning_state": "Deleting"}


@router.post(
    "/online-endpoints/{name}/credentials",
    response_model=Credentials,
    response_model_exclude_unset=True,
)
def credentials(name: str, request: Request, local: bool = LocalFlag) -> dict[str, Any]:
    return platform_of(request).service.credentials(endpoint_key(name, local))


@router.post("/online-endpoints/{name}/regenerate-keys", response_model=Keys)
def regenerate_keys(
    name: str, body: RegenerateBody, request: Request, local: bool = LocalFlag
) -> dict[str, Any]:
    p = platform_of(request)
    keys = p.service.regenerate_keys(endpoint_key(name, local), body.key_type, body.key_value)
    p.publisher.publish()
    return keys


@router.get(
    "/online-endpoints/{endpoint}/deployments",
    response_model=list[DeploymentView],
    response_model_exclude_unset=True,
)
def list_deployments(
    endpoint: str, request: Request, local: bool = LocalFlag
) -> list[dict[str, Any]]:
    p = platform_of(request)
    key = endpoint_key(endpoint, local)
    p.store.get_endpoint(key)
    return [p.service.deployment_view(d) for d in p.store.list_deployments(key)]


@router.post(
    "/online-endpoints/{endpoint}/deployments",
    status_code=201,
    response_model=DeploymentView,
    response_model_exclude_unset=True,
)
def create_deployment(endpoint: str, body: DeploymentBody, request: Request) -> dict[str, Any]:
    p = platform_of(request)
    view = p.service.create_deployment(
        endpoint_key(endpoint, body.local), body.spec, local=body.local
    )
    p.publisher.publish()
    return view


@router.get(
    "/online-endpoints/{endpoint}/deployments/{name}",
    response_model=DeploymentView,
    response_model_exclude_unset=True,
)
def show_deployment(
    endpoint: str, name: str, request: Request, local: bool = LocalFlag
) -> dict[str, Any]:
    p = platform_of(request)
    return p.service.deployment_view(p.store.get_deployment(endpoint_key(endpoint, local), name))


@router.put(
    "/online-endpoints/{endpoint}/deployments/{name}",
    response_model=DeploymentView,
    response_model_exclude_unset=True,
)
def update_deployment(
    endpoint: str, name: str, body: DeploymentBody, request: Request, local: bool = LocalFlag
) -> dict[str, Any]:
    p = platform_of(request)
    return p.service.update_deployment(endpoint_key(endpoint, local or body.local), name, body.spec)


@router.delete(
    "/online-endpoints/{endpoint}/deployments/{name}", status_code=202, response_model=Deleting
)
def delete_deployment(
    endpoint: str, name: str, request: Request, local: bool = LocalFlag
) -> dict[str, Any]:
    p = platform_of(request)
    p.service.delete_deployment(endpoint_key(endpoint, local), name)
    p.publisher.publish()
    return {"name": name, "provisioning_state": "Deleting"}


@router.get("/online-endpoints/{endpoint}/deployments/{name}/logs", response_model=Logs)
def deployment_logs(
    endpoint: str,
    name: str,
    request: Request,
    container: str = Query(
        default="inference-server", description="inference-server or storage-initializer."
    ),
    lines: int = Query(default=5000, ge=0, le=1_000_000, description="Lines from the end."),
    local: bool = LocalFlag,
) -> dict[str, Any]:
    p = platform_of(request)
    key = endpoint_key(endpoint, local)
    return p.service.logs(key, name, container, lines, p.backend.read_log)


@router.post("/admin/stop-instances", response_model=Stopped, response_model_exclude_unset=True)
async def stop_instances(request: Request) -> dict[str, Any]:
    """Drain and stop every instance; the reconciler stays paused (used by `switchman down`).

    Async on purpose: it runs on the reconciler's event loop and waits for a pass in progress, so
    no pass can start an instance while it stops them."""
    p = platform_of(request)
    return {"stopped": await p.reconciler.stop_all()}


@router.get("/admin/info", response_model=Info, response_model_exclude_unset=True)
def info(request: Request) -> dict[str, Any]:
    p = platform_of(request)
    return {
        "home": str(p.home.root),
        "routes_version": p.publisher.version,
        "backend": p.backend.name,
    }


def create_app(platform: Platform, admin_token: str) -> FastAPI:
    app = FastAPI(title="Switchman control plane", version="v1")
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
    app.add_middleware(VersionedPaths)
    app.state.platform = platform
    app.state.admin_token = admin_token
    app.state.background = []

    @app.exception_handler(SwitchmanError)
    async def _switchman_error(_: Request, exc: SwitchmanError) -> JSONResponse:
        return JSONResponse(exc.to_body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return JSONResponse(
            {"message": f"Invalid request: {problems}", "code": "BadArgument"}, status_code=400
        )

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        # Unknown paths and methods answer in the API's error shape too.
        codes = {404: "ResourceNotFound", 405: "MethodNotAllowed"}
        return JSONResponse(
            {"message": f"{exc.detail}", "code": codes.get(exc.status_code, "BadArgument")},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled control-plane error")
        return JSONResponse(
            {
                "message": f"Internal error in the control plane: {type(exc).__name__}: {exc}",
                "code": "InternalServerError",
            },
            status_code=500,
        )

    @app.get("/api/health", response_model=Health, responses={500: ERRORS[500]})
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(router)
    app.include_router(artifacts.router)  # nodes' downloads: their own token, not the admin's
    from switchman.studio.web import mount  # the web UI under /studio (issue #15)

    mount(app, platform)
    for name in EXTRA_ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        # Error answers are documented for every contributed route; see docs/internals.md.
        app.include_router(module.router, dependencies=[Depends(require_admin)], responses=ERRORS)
        # A module may add routes with their own authentication (batch workers' job tokens) and a
        # background loop the control plane runs beside the reconciler.
        if hasattr(module, "public_router"):
            app.include_router(module.public_router)
        if hasattr(module, "background"):
            app.state.background.append(module.background)
    return app
