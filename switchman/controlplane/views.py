"""Response and request models of the control-plane REST API: what each route answers.

Every route declares ``response_model=`` one of these (or its own, in its ``api_<area>.py``), so
the OpenAPI document at ``/api/v1/openapi.json`` says what a client gets back. A view is the stored
spec (its fields are documented by the spec model, e.g. ``OnlineEndpointSpec``) plus the read-only
keys `show` adds; views declare those keys and allow the spec's keys as extra properties, so a field
added to a spec model reaches clients without touching this module. Request bodies carry the spec as
a JSON object whose schema is the spec model's (:func:`spec_body`): the service validates it itself,
so its errors name the field the way the CLI's do.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

# Spec models whose JSON schema the OpenAPI document holds under components/schemas; filled by
# spec_body() so each API module names the models of its own bodies.
SPEC_MODELS: dict[str, type[BaseModel]] = {}
SPEC_MARKER = "x-switchman-spec-model"


def spec_body(model: type[BaseModel], description: str, *more: type[BaseModel]) -> Any:
    """The type of a request's ``spec`` field: any JSON object, documented as ``model`` (or one of
    ``model, *more``)."""
    refs: list[dict[str, Any]] = []
    for each in (model, *more):
        SPEC_MODELS[each.__name__] = each
        # A marker, turned into a $ref by openapi.document(): pydantic would try to resolve a $ref.
        refs.append({SPEC_MARKER: each.__name__})
    schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
    return Annotated[dict[str, Any], WithJsonSchema(schema), Field(description=description)]


class View(BaseModel):
    """Base of response views: declared keys are always present; other keys pass through."""

    model_config = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer; ``switchman.client`` raises it as the same error class."""

    message: str = Field(description="One paragraph: what went wrong, which field/value, the fix.")
    code: str = Field(
        description="Stable machine code: BadArgument, Unauthorized, ResourceNotFound, Conflict, "
        "OutOfQuota, InternalServerError, or an instance error code such as UserScriptInitFailed."
    )
    details: dict[str, Any] | None = Field(
        default=None, description="Extra machine-readable facts."
    )


class Health(BaseModel):
    status: str = Field(description="`ok` while the control plane serves.")


class EndpointView(View):
    """An online endpoint as `online-endpoint show` prints it: its spec plus these keys."""

    name: str = Field(description="Endpoint name.")
    auth_mode: str = Field(description="key, aml_token or aad_token.")
    traffic: dict[str, int] = Field(description="Every deployment → percent of live traffic.")
    provisioning_state: str = Field(description="Creating, Updating, Succeeded, Failed, Deleting.")
    scoring_uri: str = Field(description="Where to POST scoring requests.")
    openapi_uri: str = Field(description="The swagger document of the endpoint.")
    location: str = Field(description="`local` for local endpoints, else `switchman`.")
    kind: str = Field(description="Always `Managed`.")
    id: str = Field(description="Resource id.")
    properties: dict[str, Any] = Field(description="Resource properties (generation, ...).")


class InstanceView(View):
    name: str = Field(description="Instance id.")
    state: str = Field(description="Instance state (Starting, Ready, Draining, Failed, ...).")
    pid: int | None = Field(description="OS process id.")
    url: str | None = Field(description="Where the instance listens.")


class DeploymentView(View):
    """An online deployment as `online-deployment show` prints it: its spec plus these keys."""

    name: str = Field(description="Deployment name.")
    endpoint_name: str = Field(description="The endpoint it belongs to.")
    type: str = Field(description="managed or kubernetes.")
    provisioning_state: str = Field(description="Creating, Updating, Succeeded, Failed, Deleting.")
    id: str = Field(description="Resource id.")
    properties: dict[str, Any] = Field(description="generation and observed_generation.")
    instances: list[InstanceView] = Field(description="The running copies.")


class Deleting(View):
    name: str = Field(description="What is being deleted.")
    provisioning_state: str = Field(description="`Deleting`.")


class Credentials(View):
    """Keys (auth_mode key: primaryKey, secondaryKey) or a token (accessToken, expiryTimeUtc, ...)."""

    primaryKey: str | None = Field(default=None, description="Key auth: the primary key.")
    secondaryKey: str | None = Field(default=None, description="Key auth: the secondary key.")
    accessToken: str | None = Field(default=None, description="Token auth: a bearer token.")
    expiryTimeUtc: int | None = Field(default=None, description="Token auth: expiry (epoch s).")
    refreshAfterTimeUtc: int | None = Field(default=None, description="Token auth: refresh after.")
    tokenType: str | None = Field(default=None, description="Token auth: `Bearer`.")


class Keys(BaseModel):
    primaryKey: str | None = Field(description="The primary key.")
    secondaryKey: str | None = Field(description="The secondary key.")


class Logs(BaseModel):
    container: str = Field(description="inference-server or storage-initializer.")
    instance: str | None = Field(description="The instance whose log this is (the newest).")
    text: str = Field(description="The last lines of the log.")


class Stopped(View):
    stopped: int = Field(description="How many instances were stopped.")


class Info(View):
    home: str = Field(description="SWITCHMAN_HOME of this platform.")
    routes_version: int = Field(description="Version of the route table last published.")
    backend: str = Field(description="Compute backend: local or ray.")


class AssetView(View):
    """A registered model or environment: its spec plus these keys."""

    name: str = Field(description="Name.")
    version: str = Field(description="Version.")
    id: str = Field(description="Resource id.")
    creation_context: dict[str, Any] = Field(description="created_at, created_by.")
    archived: bool = Field(description="Whether the version is archived.")


class Pruned(View):
    removed: list[str] = Field(description="Built environments removed.")
    kept: list[str] = Field(description="Built environments kept.")
