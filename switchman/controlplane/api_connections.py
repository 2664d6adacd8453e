"""REST routes for workspace connections (``switchman connection ...``): parse, call, serialise.

Included by ``api.create_app`` behind the admin token. Secrets go in; they never come back out:
every answer carries the masked document.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from switchman.controlplane.connections import ConnectionRegistry
from switchman.spec.connection import parse_connection

router = APIRouter(prefix="/api")


class ConnectionBody(BaseModel):
    spec: dict[str, Any] = Field(description="The connection document, as in connection.yml.")
    source: str = Field(default="connection.yml", description="File name for error messages.")


class ConnectionView(BaseModel):
    """A connection as `show` prints it: credentials masked."""

    model_config = ConfigDict(extra="allow")
    name: str
    type: str
    credentials: dict[str, Any]
    version: int
    created_at: float
    updated_at: float


class ConnectionDeleted(BaseModel):
    name: str
    deleted: bool


def _registry(request: Request) -> ConnectionRegistry:
    registry: ConnectionRegistry = request.app.state.platform.service.connections
    return registry


@router.get("/connections", response_model=list[ConnectionView])
def list_connections(request: Request) -> list[dict[str, Any]]:
    return _registry(request).all()


@router.post("/connections", status_code=201, response_model=ConnectionView)
def put_connection(body: ConnectionBody, request: Request) -> dict[str, Any]:
    return _registry(request).put(parse_connection(body.spec, body.source))


@router.get("/connections/{name}", response_model=ConnectionView)
def show_connection(name: str, request: Request) -> dict[str, Any]:
    return _registry(request).show(name)


@router.delete("/connections/{name}", response_model=ConnectionDeleted)
def delete_connection(name: str, request: Request) -> dict[str, Any]:
    platform = request.app.state.platform
    used_by = [
        f"{d.endpoint}/{d.name}"
        for d in platform.store.list_deployments()
        if any(
            e[0] == name for refs in (d.resolved.get("secret_refs") or {}).values() for e in refs
        )
    ]
    _registry(request).delete(name, used_by)
    return {"name": name, "deleted": True}
