"""REST routes for autoscale settings (``switchman monitor autoscale ...``): parse, call, serialise.

The admin-token routes live on ``router`` (included by ``api.create_app``). The router's wake call
(``POST /api/autoscale/wake``) is on ``wake_router`` with its own token, added by the applier.
"""

from __future__ import annotations

import secrets as pysecrets
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from switchman.autoscale.registry import AutoscaleRegistry
from switchman.autoscale.table import AutoscaleTable
from switchman.controlplane.openapi import ERRORS
from switchman.controlplane.views import View
from switchman.errors import UnauthorizedError

router = APIRouter(prefix="/api/autoscale")
wake_router = APIRouter(prefix="/api/autoscale", responses=ERRORS)


class Body(BaseModel):
    """Flags as the CLI sends them; the registry checks them and says what is valid."""

    model_config = ConfigDict(extra="allow")


class SettingBody(Body):
    """`autoscale create` / `update`: name, resource, min_count, max_count, count, enabled,
    idle_window, tags."""

    name: str | None = Field(default=None, description="Setting name (create).")
    resource: str | None = Field(default=None, description="Target deployment id (create).")


class RuleBody(Body):
    """`rule create`: condition, scale (list of words), cooldown, resource, profile_name, timegrain."""

    condition: str | None = Field(default=None, description='"<metric> <op> <n> <agg> <window>".')


class ProfileBody(Body):
    """`profile create`: name, min_count, max_count, count, recurrence, timezone, start, end."""

    name: str | None = Field(default=None, description="Profile name.")


class WakeBody(Body):
    endpoint: str = Field(description="Endpoint of the deployment at zero.")
    deployment: str = Field(description="The deployment to wake.")
    held: int = Field(default=1, description="Requests the router holds for it.")


class SettingView(View):
    """An autoscale setting as `az monitor autoscale show` prints it (camelCase)."""

    id: str = Field(description="Resource id of the setting.")
    name: str = Field(description="Setting name.")
    enabled: bool = Field(description="Whether decisions are applied.")
    targetResourceUri: str = Field(description="The deployment it scales.")
    profiles: list[dict[str, Any]] = Field(description="capacity, rules, recurrence, fixedDate.")


class RuleView(View):
    metricTrigger: dict[str, Any] = Field(description="metricName, operator, threshold, ...")
    scaleAction: dict[str, Any] = Field(description="direction, type, value, cooldown.")


class ProfileView(View):
    name: str = Field(description="Profile name.")
    capacity: dict[str, str] = Field(description="minimum, maximum, default.")


class Deleted(View):
    name: str = Field(description="What was deleted.")
    deleted: bool = Field(description="Always true.")


class WakeAnswer(View):
    accepted: bool = Field(description="The wake request was taken.")


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


@router.get("/settings", response_model=list[SettingView])
def list_settings(request: Request) -> list[dict[str, Any]]:
    return registry_of(request).all()


@router.post("/settings", status_code=201, response_model=SettingView)
def create_setting(body: SettingBody, request: Request) -> dict[str, Any]:
    doc = registry_of(request).create(body.model_dump())
    _changed(request)
    return doc


@router.get("/settings/{name}", response_model=SettingView)
def show_setting(name: str, request: Request) -> dict[str, Any]:
    return registry_of(request).show(name)


@router.patch("/settings/{name}", response_model=SettingView)
def update_setting(name: str, body: SettingBody, request: Request) -> dict[str, Any]:
    doc = registry_of(request).update(name, body.model_dump())
    _changed(request)
    return doc


@router.delete("/settings/{name}", response_model=Deleted)
def delete_setting(name: str, request: Request) -> dict[str, Any]:
    registry_of(request).delete(name)
    _changed(request)
    return {"name": name, "deleted": True}


@router.get("/settings/{name}/rules", response_model=list[RuleView])
def list_rules(name: str, request: Request, profile: str | None = None) -> list[dict[str, Any]]:
    return registry_of(request).rule_list(name, profile)


@router.post("/settings/{name}/rules", status_code=201, response_model=RuleView)
def create_rule(name: str, body: RuleBody, request: Request) -> dict[str, Any]:
    rule = registry_of(request).rule_create(name, body.model_dump())
    _changed(request)
    return rule


@router.delete("/settings/{name}/rules/{index}", response_model=Deleted)
def delete_rule(
    name: str, index: str, request: Request, profile: str | None = None
) -> dict[str, Any]:
    registry_of(request).rule_delete(name, profile, index)
    _changed(request)
    return {"name": name, "index": index, "deleted": True}


@router.get("/settings/{name}/profiles", response_model=list[ProfileView])
def list_profiles(name: str, request: Request) -> list[dict[str, Any]]:
    return registry_of(request).profile_list(name)


@router.post("/settings/{name}/profiles", status_code=201, response_model=ProfileView)
def create_profile(name: str, body: ProfileBody, request: Request) -> dict[str, Any]:
    profile = registry_of(request).profile_create(name, body.model_dump())
    _changed(request)
    return profile


@router.get("/settings/{name}/profiles/{profile}", response_model=ProfileView)
def show_profile(name: str, profile: str, request: Request) -> dict[str, Any]:
    return registry_of(request).profile_show(name, profile)


@router.delete("/settings/{name}/profiles/{profile}", response_model=Deleted)
def delete_profile(name: str, profile: str, request: Request) -> dict[str, Any]:
    registry_of(request).profile_delete(name, profile)
    _changed(request)
    return {"name": profile, "deleted": True}


@wake_router.post("/wake", response_model=WakeAnswer)
def wake(body: WakeBody, request: Request) -> dict[str, Any]:
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
    return dict(applier.wake(body.endpoint, body.deployment, body.held))
