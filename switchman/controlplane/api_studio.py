"""REST routes the studio adds (issue #15): sign-in tokens, chart data, the test call, cost.

Included by ``switchman.controlplane.api`` with the same ``require_admin`` dependency as every
other route, so the CLI (bearer token) and a signed-in browser (session cookie + CSRF token) reach
them through one authorization check.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from switchman.controlplane.cost import cost_report
from switchman.controlplane.platform import Platform
from switchman.errors import BadArgumentError, PlatformError
from switchman.studio import telemetry
from switchman.studio.sessions import SIGN_IN_TTL_S, StudioSessions

router = APIRouter()
TEST_TIMEOUT_S = 60.0
MAX_TEST_BODY_SHOWN = 256 * 1024


class TestBody(BaseModel):
    body: str = Field(description="The request body to send to the scoring URI, as text.")
    deployment: str | None = Field(
        default=None, description="Pin a deployment (azureml-model-deployment header)."
    )
    content_type: str = Field(default="application/json", description="Content-Type sent.")


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def studio_base(request: Request) -> str:
    """The studio's base URL as this client reached the control plane."""
    return str(request.base_url).rstrip("/") + "/studio/"


@router.post("/api/studio/sign-in-tokens", status_code=201)
def sign_in_token(request: Request) -> dict[str, Any]:
    """A one-time sign-in link (what `switchman studio` prints)."""
    sessions: StudioSessions = request.app.state.studio
    token = sessions.issue_sign_in()
    base = studio_base(request)
    return {
        "studio_url": base,
        "url": f"{base}sign-in?token={token}",
        "expires_in_s": int(SIGN_IN_TTL_S),
    }


# Optional APIs other parts add; the studio shows their pages only when the route exists here.
FEATURES = {
    "batch_endpoints": "/api/batch-endpoints",
    "jobs": "/api/jobs",
    "data": "/api/data",
    "autoscale": "/api/autoscale-settings",
    "shadow": "/api/online-endpoints/{endpoint}/shadow",
}


@router.get("/api/studio/features")
def features(request: Request) -> dict[str, str | None]:
    """Which optional APIs this control plane serves (path, or None)."""
    paths = {getattr(route, "path", None) for route in request.app.routes}
    return {key: (path if path in paths else None) for key, path in FEATURES.items()}


@router.get("/api/studio/online-endpoints/{endpoint}/metrics")
def metrics(
    endpoint: str, request: Request, window: str = "15m", deployment: str | None = None
) -> dict[str, Any]:
    p = _platform(request)
    p.store.get_endpoint(endpoint)  # 404 for an unknown endpoint
    return telemetry.charts(p.home.db_path, endpoint, window, time.time(), deployment)


@router.get("/api/studio/online-endpoints/{endpoint}/traffic-log")
def traffic(
    endpoint: str,
    request: Request,
    deployment: str | None = None,
    status: str | None = None,
    since_s: float = 3600.0,
    limit: int = 200,
) -> list[dict[str, Any]]:
    p = _platform(request)
    p.store.get_endpoint(endpoint)
    return telemetry.traffic_log(
        p.home.db_path,
        endpoint,
        time.time(),
        deployment=deployment or None,
        status_class=status or None,
        since_s=since_s,
        limit=limit,
    )


def router_scoring_uri(p: Platform, endpoint: str) -> str:
    """Path-style scoring URI on loopback: works whatever --public-host says."""
    return f"http://127.0.0.1:{p.service.addresses.router_port}/endpoints/{endpoint}/score"


@router.post("/api/studio/online-endpoints/{endpoint}/test")
def test_call(endpoint: str, body: TestBody, request: Request) -> dict[str, Any]:
    """Score one request through the router, as a client would, and show what came back."""
    import httpx  # only this route needs it

    p = _platform(request)
    record = p.store.get_endpoint(endpoint)
    headers = {"Content-Type": body.content_type}
    if not record.local:
        creds = p.service.credentials(endpoint)
        secret = creds.get("primaryKey") or creds.get("accessToken")
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
    if body.deployment:
        names = {d.name for d in p.store.list_deployments(endpoint)}
        if body.deployment not in names:
            raise BadArgumentError(
                f"Deployment {body.deployment!r} is not on endpoint {endpoint!r}; pick one of "
                f"{', '.join(sorted(names)) or 'none'}."
            )
        headers["azureml-model-deployment"] = body.deployment
    uri = router_scoring_uri(p, endpoint)
    started = time.perf_counter()
    try:
        response = httpx.post(
            uri,
            content=body.body.encode(),
            headers=headers,
            timeout=TEST_TIMEOUT_S,
            trust_env=False,
        )
    except httpx.HTTPError as exc:
        raise PlatformError(
            f"The router at {uri} did not answer ({exc}); check `switchman status`."
        ) from None
    latency_ms = (time.perf_counter() - started) * 1000.0
    text = response.content[:MAX_TEST_BODY_SHOWN].decode(errors="replace")
    try:
        pretty = json.dumps(json.loads(text), indent=2)
    except ValueError:
        pretty = text
    return {
        "status": response.status_code,
        "latency_ms": round(latency_ms, 2),
        "headers": dict(response.headers),
        "body": pretty,
        "truncated": len(response.content) > MAX_TEST_BODY_SHOWN,
    }


@router.get("/api/monitor/cost")
def cost(request: Request) -> dict[str, Any]:
    """Cost per endpoint and deployment for today, 7 and 30 days (`switchman monitor cost`)."""
    p = _platform(request)
    return cost_report(p.store, p.home, time.time())
