"""The studio's routes in-process (ASGI, no sockets): sign-in, one authorization, CSRF, features."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

with warnings.catch_warnings():  # starlette nudges towards httpx2, which is not installed
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from switchman.controlplane.api import create_app
from switchman.controlplane.platform import Platform
from switchman.controlplane.service import Addresses
from switchman.home import Home

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    platform = Platform.create(Home(tmp_path / "home"), Addresses(router_port=1))
    with TestClient(create_app(platform, TOKEN), base_url="http://127.0.0.1:5000") as client:
        assert (
            client.post(
                "/api/online-endpoints", json={"spec": {"name": "ep-one"}}, headers=AUTH
            ).status_code
            == 201
        )
        yield client


def sign_in(api: TestClient) -> str:
    link = api.post("/api/studio/sign-in-tokens", headers=AUTH).json()
    assert link["studio_url"] == "http://127.0.0.1:5000/studio/"
    answer = api.get(link["url"], follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/studio/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    page = api.get("/studio/")
    assert page.status_code == 200 and "ep-one" in page.text
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert match
    return match.group(1)


def test_sign_in_tokens_need_the_admin_token(api: TestClient) -> None:
    assert api.post("/api/studio/sign-in-tokens").status_code == 401


def test_a_session_reaches_the_same_api_and_changes_need_the_csrf_token(api: TestClient) -> None:
    csrf = sign_in(api)
    assert [e["name"] for e in api.get("/api/online-endpoints").json()] == ["ep-one"]
    body = {"spec": {"name": "ep-one", "tags": {"a": "b"}}}
    refused = api.put("/api/online-endpoints/ep-one", json=body)
    assert refused.status_code == 401 and "CSRF" in refused.json()["message"]
    foreign = api.put(
        "/api/online-endpoints/ep-one",
        json=body,
        headers={"X-CSRF-Token": csrf, "Origin": "http://evil.localhost"},
    )
    assert foreign.status_code == 401
    done = api.put(
        "/api/online-endpoints/ep-one",
        json=body,
        headers={"X-CSRF-Token": csrf, "Origin": "http://127.0.0.1:5000"},
    )
    assert done.status_code == 200 and done.json()["tags"] == {"a": "b"}


def test_signing_out_ends_the_session(api: TestClient) -> None:
    csrf = sign_in(api)
    assert api.post("/studio/sign-out", headers={"X-CSRF-Token": csrf}).status_code == 200
    api.cookies.clear()
    assert api.get("/studio/").status_code == 401


def test_without_a_session_pages_and_api_show_nothing(api: TestClient) -> None:
    for path in ("/studio/", "/studio/endpoints/ep-one", "/studio/cost", "/studio/jobs"):
        page = api.get(path)
        assert page.status_code == 401 and "ep-one" not in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert api.get("/api/online-endpoints").status_code == 401
    assert api.get("/studio/fragments/endpoint-rows").text == ""


def test_features_name_the_optional_apis_this_build_serves(api: TestClient) -> None:
    found = api.get("/api/studio/features", headers=AUTH).json()
    assert found["autoscale"] == "/api/autoscale/settings"
    assert found["batch_endpoints"] == "/api/batch-endpoints"
    assert found["shadow"] == "/api/online-endpoints/{name}/shadow"


def test_static_files_are_served_without_a_session(api: TestClient) -> None:
    answer = api.get("/studio/static/vendor/uPlot-1.6.32.iife.min.js")
    assert answer.status_code == 200 and "uPlot" in answer.text
