"""The control-plane API's version and its OpenAPI document.

Versioning: the API is ``v1``. Every route lives under ``/api/...`` and answers the same under
``/api/v1/...`` (the versioned path a client written against the document should use); the
unversioned path stays because the CLI and older clients use it. A breaking change would add
``/api/v2/...`` beside it. Each answer carries ``x-switchman-api-version``.

The document (``/api/v1/openapi.json``, also ``/openapi.json``) lists the versioned paths, every
route's request model, response model and error answers (``ErrorBody`` for 400/401/404/409/500),
the bearer-token security scheme, and the spec models request bodies refer to.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.types import ASGIApp, Receive, Scope, Send

from switchman import __version__
from switchman.controlplane.views import SPEC_MARKER, SPEC_MODELS, ErrorBody

API_VERSION = "v1"
VERSIONED_PREFIX = f"/api/{API_VERSION}"
VERSION_HEADER = (b"x-switchman-api-version", API_VERSION.encode())

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad request: the message names the field and fix."},
    401: {"model": ErrorBody, "description": "Missing or wrong admin token."},
    404: {"model": ErrorBody, "description": "The resource does not exist."},
    409: {"model": ErrorBody, "description": "Conflict: exists already, being deleted, in use."},
    500: {"model": ErrorBody, "description": "A fault of the platform."},
}

DESCRIPTION = """\
The control plane of a Switchman platform: online endpoints and deployments, the model and
environment registry, and the other resources of `switchman` (the CLI and the `switchman.ml` SDK
are clients of this API).

* **Auth**: `Authorization: Bearer <token>`, the token in `$SWITCHMAN_HOME/admin-token`
  (`/api/v1/health` needs none). The URL is `api_url` in `$SWITCHMAN_HOME/server.json`.
* **Version**: `v1`; the same routes answer under `/api/...` (unversioned, kept for the CLI).
* **Bodies**: create/update bodies are `{"spec": {...}}` with the document a YAML file holds
  (`OnlineEndpointSpec`, `OnlineDeploymentSpec`, ...). Answers are the stored spec plus read-only
  keys (`provisioning_state`, `scoring_uri`, `id`, ...).
* **Errors**: every 4xx/5xx answer is `ErrorBody` — `{"message", "code"}` — with the status of the
  error class (400 BadArgument, 401 Unauthorized, 404 ResourceNotFound, 409 Conflict, 500).
* **Long operations**: creating or updating a deployment answers at once with
  `provisioning_state: Creating|Updating`; poll `GET .../deployments/{name}` until `Succeeded` or
  `Failed` (with `error`). Deletes answer 202 `Deleting`; the resource is gone when `GET` is 404.
"""


class VersionedPaths:
    """ASGI middleware: ``/api/v1/x`` is served by the route at ``/api/x``; answers carry the version.

    A path rewrite rather than a second copy of every router keeps one route table, so routers that
    other modules add (``api_<area>.py``) are versioned without doing anything.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == VERSIONED_PREFIX or path.startswith(VERSIONED_PREFIX + "/"):
            rest = path[len(VERSIONED_PREFIX) :]
            scope = dict(scope)
            scope["path"] = "/openapi.json" if rest == "/openapi.json" else "/api" + rest
            raw = scope.get("raw_path")
            if isinstance(raw, bytes | bytearray):
                scope["raw_path"] = scope["path"].encode()

        async def send_with_version(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), VERSION_HEADER]
            await send(message)

        await self.app(scope, receive, send_with_version)


def document(app: FastAPI) -> dict[str, Any]:
    """Build (once) the OpenAPI document of ``app`` as described in the module docstring."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title="Switchman control plane",
        version=f"{API_VERSION} ({__version__})",
        description=DESCRIPTION,
        routes=app.routes,
    )
    schema["info"]["x-api-version"] = API_VERSION
    paths: dict[str, Any] = {}
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/api/") and not path.startswith(VERSIONED_PREFIX + "/"):
            path = VERSIONED_PREFIX + path[len("/api") :]
        for operation in operations.values():
            # Our handler answers request validation errors with 400 ErrorBody, never FastAPI's 422.
            operation.get("responses", {}).pop("422", None)
            if path == f"{VERSIONED_PREFIX}/health":
                operation["security"] = []
        paths[path] = operations
    schema["paths"] = _spec_refs(paths)
    schema["components"] = _spec_refs(schema.get("components", {}))
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    if SPEC_MODELS:
        _, defs = models_json_schema(
            [(model, "validation") for model in SPEC_MODELS.values()],
            ref_template="#/components/schemas/{model}",
        )
        for name, definition in defs.get("$defs", {}).items():
            schemas.setdefault(name, definition)
    components["securitySchemes"] = {
        "adminToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "The token in $SWITCHMAN_HOME/admin-token.",
        }
    }
    schema["security"] = [{"adminToken": []}]
    app.openapi_schema = schema
    return schema


def _spec_refs(node: Any) -> Any:
    """Replace the markers views.spec_body() leaves with refs to the spec models' schemas."""
    if isinstance(node, dict):
        if SPEC_MARKER in node:
            return {"$ref": f"#/components/schemas/{node[SPEC_MARKER]}"}
        return {key: _spec_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_spec_refs(value) for value in node]
    return node
