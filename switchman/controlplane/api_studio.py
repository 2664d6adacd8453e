"""REST routes the studio adds (issue #15): sign-in tokens, chart data, the test call, cost.

Included by ``switchman.controlplane.api`` with the same ``require_admin`` dependency as every
other route, so the CLI (bearer token) and a signed-in browser (session cookie + CSRF token) reach
them through one authorization check.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from switchman.controlplane.cost import cost_report
from switchman.controlplane.platform import Platform
from switchman.controlplane.views import View
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


class SignInLink(View):
    studio_url: str = Field(description="The studio's base URL (no credentials).")
    url: str = Field(description="The one-time sign-in link: studio_url + sign-in?token=...")
    expires_in_s: int = Field(description="Seconds the link stays valid (it works once).")


class Features(View):
    """Optional APIs this control plane serves: their path, or null."""


class ChartSeries(View):
    label: str = Field(description="Deployment, deployment + status, or deployment/instance.")
    values: list[float | None] = Field(description="One value per x; null where no roll-up.")


class Chart(View):
    key: str = Field(description="Stable chart id: rpm, rpm_status, p50, p90, p99, cpu, ...")
    title: str = Field(description="What the chart shows.")
    unit: str = Field(description="Unit of the values.")
    x: list[float] = Field(description="Bucket starts, epoch seconds.")
    series: list[ChartSeries] = Field(description="Aligned series, one per label.")


class Charts(View):
    endpoint: str = Field(description="The endpoint.")
    window: str = Field(description="15m, 1h or 24h.")
    step_s: float = Field(description="Bucket width in seconds.")
    charts: list[Chart] = Field(description="Every chart of the metrics tab.")


class TrafficRow(View):
    """One AmlOnlineEndpointTrafficLog row (a subset of its columns)."""

    time: float = Field(description="Epoch seconds.")


class TestResult(View):
    status: int = Field(description="HTTP status the router answered.")
    latency_ms: float = Field(description="Round trip from the control plane, ms.")
    headers: dict[str, str] = Field(description="Response headers.")
    body: str = Field(description="Response body (pretty-printed when JSON).")
    truncated: bool = Field(description="Whether the body shown was cut at 256 KiB.")


class CostReport(View):
    currency: str = Field(description="Currency of the price table.")
    prices_taken: str = Field(description="When the built-in prices were recorded.")
    windows: list[str] = Field(description="today, 7d, 30d.")
    deployments: list[dict[str, Any]] = Field(description="One row per deployment.")
    endpoints: list[dict[str, Any]] = Field(description="Totals per endpoint.")


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def studio_base(request: Request) -> str:
    """The studio's base URL as this client reached the control plane."""
    return str(request.base_url).rstrip("/") + "/studio/"


@router.post("/api/studio/sign-in-tokens", status_code=201, response_model=SignInLink)
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


# Optional APIs other parts add (path, the module that serves it); the studio shows their pages
# only when this control plane included that module (`EXTRA_ROUTERS` skips missing ones).
FEATURES = {
    "batch_endpoints": ("/api/batch-endpoints", "switchman.controlplane.api_batch"),
    "jobs": ("/api/jobs", "switchman.controlplane.api_batch"),
    "data": ("/api/data", "switchman.controlplane.api_batch"),
    "autoscale": ("/api/autoscale/settings", "switchman.controlplane.api_autoscale"),
    "shadow": ("/api/online-endpoints/{name}/shadow", "switchman.controlplane.api_rollout"),
}


@router.get("/api/studio/features", response_model=Features)
def features(request: Request) -> dict[str, str | None]:
    """Which optional APIs this control plane serves (path, or None)."""
    return {
        key: (path if module in sys.modules else None) for key, (path, module) in FEATURES.items()
    }


@router.get("/api/studio/online-endpoints/{endpoint}/metrics", response_model=Charts)
def metrics(
    endpoint: str, request: Request, window: str = "15m", deployment: str | None = None
) -> dict[str, Any]:
    p = _platform(request)
    p.store.get_endpoint(endpoint)  # 404 for an unknown endpoint
    return telemetry.charts(p.home.db_path, endpoint, window, time.time(), deployment)


@router.get("/api/studio/online-endpoints/{endpoint}/traffic-log", response_model=list[TrafficRow])
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
    scheme = p.service.addresses.scheme  # https under `switchman up --tls`
    return f"{scheme}://127.0.0.1:{p.service.addresses.router_port}/endpoints/{endpoint}/score"


@router.post("/api/studio/online-endpoints/{endpoint}/test", response_model=TestResult)
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
    from switchman.tls import client_context_for

    verify: Any = client_context_for(p.home) or True  # the platform's CA under --tls
    started = time.perf_counter()
    try:
        response = httpx.post(
            uri,
            content=body.body.encode(),
            headers=headers,
            timeout=TEST_TIMEOUT_S,
            trust_env=False,
            verify=verify,
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


@router.get("/api/monitor/cost", response_model=CostReport)
def cost(request: Request) -> dict[str, Any]:
    """Cost per endpoint and deployment for today, 7 and 30 days (`switchman monitor cost`)."""
    p = _platform(request)
    return cost_report(p.store, p.home, time.time())
