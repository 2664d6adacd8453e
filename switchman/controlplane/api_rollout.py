"""REST routes of safe rollout: gated rollouts and live-vs-shadow agreement (for CLI and studio).

``POST /api/online-endpoints/{e}/rollout`` starts one (body: the ``rollout`` spec), ``GET`` shows
the endpoint's latest, ``POST .../rollout/cancel`` stops it and restores the previous split;
``GET /api/online-endpoints/{e}/shadow?since=900`` gives the agreement reports (DESIGN §2).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from switchman.controlplane.rollout import RolloutDriver
from switchman.controlplane.views import View
from switchman.errors import NotFoundError
from switchman.rollout import shadowstore
from switchman.spec.loader import validate
from switchman.spec.rollout import RolloutSpec

router = APIRouter()


class RolloutBody(BaseModel):
    spec: dict[str, Any] = Field(description="The rollout document: to, steps, bake, gates.")


class RolloutView(View):
    """An endpoint's latest rollout: its plan, where it is, and the last gate verdict."""

    endpoint: str = Field(description="Endpoint name.")
    to: str = Field(description="The deployment being rolled out.")
    steps: list[int] = Field(description="Percent of live traffic at each step.")
    state: str = Field(
        description="waiting, shadow, step, succeeded, rolled_back, cancelled or failed."
    )
    step: int = Field(description="Index of the current (or last reached) step; -1 before.")
    percent: int = Field(description="The target's share at that step.")
    reason: str = Field(description="Why it ended (the breached gate), or the last pass.")
    previous_traffic: dict[str, int] = Field(description="The split restored on rollback.")
    last_verdict: dict[str, Any] = Field(description="The gates' latest verdict and numbers.")


class ShadowReport(View):
    """Agreement of one (live, shadow) pair of deployments (DESIGN §2)."""

    live: str = Field(description="The deployment that answered the client.")
    shadow: str = Field(description="The deployment that got the mirror copy.")
    pairs: int = Field(description="Answer pairs compared.")
    exact_match_rate: float | None = Field(description="Share of identical answers, 0-1.")
    status_agreement_rate: float | None = Field(description="Share with the same status, 0-1.")
    abs_diff_p50: float | None = Field(description="Median element-wise |live - shadow|.")
    abs_diff_p90: float | None = Field(description="90th percentile of the differences.")
    abs_diff_p99: float | None = Field(description="99th percentile of the differences.")
    live_latency_ms_p50: float | None = Field(description="Live latency median (ms).")
    live_latency_ms_p99: float | None = Field(description="Live latency p99 (ms).")
    shadow_latency_ms_p50: float | None = Field(description="Shadow latency median (ms).")
    shadow_latency_ms_p99: float | None = Field(description="Shadow latency p99 (ms).")


def _driver(request: Request) -> RolloutDriver:
    state = request.app.state
    driver: RolloutDriver | None = getattr(state, "rollouts", None)
    if driver is None:  # an app built without the server's composition root (tests)
        p = state.platform
        driver = state.rollouts = RolloutDriver(p.home, p.store, p.service, p.publisher)
    return driver


@router.post("/api/online-endpoints/{name}/rollout", status_code=201, response_model=RolloutView)
def start_rollout(name: str, body: RolloutBody, request: Request) -> dict[str, Any]:
    spec = validate(RolloutSpec, body.spec, source="the request")
    return _driver(request).start(name, spec).as_dict()


@router.get("/api/online-endpoints/{name}/rollout", response_model=RolloutView)
def show_rollout(name: str, request: Request) -> dict[str, Any]:
    driver = _driver(request)
    driver.store.get_endpoint(name)  # 404 for an unknown endpoint
    found = driver.book.get(name)
    if found is None:
        raise NotFoundError(
            f"Endpoint {name!r} has no rollout; start one with "
            f"`switchman online-endpoint rollout -n {name} --to <deployment>`."
        )
    state, cancel = found
    return {**state.as_dict(), "cancel_requested": cancel}


@router.post("/api/online-endpoints/{name}/rollout/cancel", response_model=RolloutView)
def cancel_rollout(name: str, request: Request) -> dict[str, Any]:
    return _driver(request).cancel(name).as_dict()


@router.get("/api/online-endpoints/{name}/shadow", response_model=list[ShadowReport])
def shadow_reports(
    name: str,
    request: Request,
    since: float = Query(default=900.0, ge=0, description="Seconds back to include."),
) -> list[dict[str, Any]]:
    driver = _driver(request)
    driver.store.get_endpoint(name)
    conn = sqlite3.connect(driver.home.db_path, timeout=10)
    try:
        return shadowstore.reports(conn, name, time.time() - since)
    finally:
        conn.close()
