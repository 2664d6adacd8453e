"""REST routes for autoscale settings (``switchman monitor autoscale ...``): parse, call, serialise.

The admin-token routes live on ``router`` (included by ``api.create_app``). The router's wake call
(``POST /api/autoscale/wake``) is on ``wake_router`` with its own token, added by the applier.
"""

from __future__ import annotations

import secrets as pysecrets
from typing import Any

from fastapi import APIRouter, Request

from switchman.autoscale.registry import AutoscaleRegistry
from switchman.autoscale.table import AutoscaleTable
from switchman.errors import UnauthorizedError

router = APIRouter(prefix="/api/autoscale")
wake_router = APIRouter(prefix="/api/autoscale")


def registry_of(request: Request) -> AutoscaleRegistry:
    state = request.app.state
    registry: AutoscaleRegistry | None = getattr(state, "autoscale_registry", None)
    if registry is None:
        store = state.platform.store
        registry = state.autoscale_registry = AutoscaleRegistry(store, AutoscaleTable(store))
    return registry


def _changed(request: Request) -> None:
    """Evaluate at once after a change (the applier waits for its next tick otherwise)."""
    applier = getattr(request.app.state, "autoscaler", None)
    if applier is not None:
        applier.kick()


@router.get("/settings")
def list_settings(request: Request) -> list[dict[str, Any]]:
    return registry_of(request).all()


@router.post("/settings", status_code=201)
def create_setting(body: dict[str, Any], request: Request) -> dict[str, Any]:
    doc = registry_of(request).create(body)
    _changed(request)
    return doc


@router.get("/settings/{name}")
def show_setting(name: str, request: Request) -> dict[str, Any]:
    return registry_of(request).show(name)


@router.patch("/settings/{name}")
def update_setting(name: str, body: dict[str, Any], request: Request) -> dict[str, Any]:
    doc = registry_of(request).update(name, body)
    _changed(request)
    return doc


@router.delete("/settings/{name}")
def delete_setting(name: str, request: Request) -> dict[str, Any]:
    registry_of(request).delete(name)
    _changed(request)
    return {"name": name, "deleted": True}


@router.get("/settings/{name}/rules")
def list_rules(name: str, request: Request, profile: str | None = None) -> list[dict[str, Any]]:
    return registry_of(request).rule_list(name, profile)


@router.post("/settings/{name}/rules", status_code=201)
def create_rule(name: str, body: dict[str, Any], request: Request) -> dict[str, Any]:
    rule = registry_of(request).rule_create(name, body)
    _changed(request)
    return rule


@router.delete("/settings/{name}/rules/{index}")
def delete_rule(
    name: str, index: str, request: Request, profile: str | None = None
) -> dict[str, Any]:
    registry_of(request).rule_delete(name, profile, index)
    _changed(request)
    return {"name": name, "index": index, "deleted": True}


@router.get("/settings/{name}/profiles")
def list_profiles(name: str, request: Request) -> list[dict[str, Any]]:
    return registry_of(request).profile_list(name)


@router.post("/settings/{name}/profiles", status_code=201)
def create_profile(name: str, body: dict[str, Any], request: Request) -> dict[str, Any]:
    profile = registry_of(request).profile_create(name, body)
    _changed(request)
    return profile


@router.get("/settings/{name}/profiles/{profile}")
def show_profile(name: str, profile: str, request: Request) -> dict[str, Any]:
    return registry_of(request).profile_show(name, profile)


@router.delete("/settings/{name}/profiles/{profile}")
def delete_profile(name: str, profile: str, request: Request) -> dict[str, Any]:
    registry_of(request).profile_delete(name, profile)
    _changed(request)
    return {"name": profile, "deleted": True}


@wake_router.post("/wake")
def wake(body: dict[str, Any], request: Request) -> dict[str, Any]:
    """The router holds requests for a deployment at zero: start an instance (wake token only)."""
    applier = getattr(request.app.state, "autoscaler", None)
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    if (
        applier is None
        or scheme.lower() != "bearer"
        or not pysecrets.compare_digest(token.encode(), applier.wake_token.encode())
    ):
        raise UnauthorizedError("The wake call needs the router's wake token from routes.json.")
    return dict(
        applier.wake(
            str(body.get("endpoint", "")), str(body.get("deployment", "")), int(body.get("held", 1))
        )
    )
