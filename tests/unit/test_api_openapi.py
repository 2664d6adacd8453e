"""The control-plane API is versioned and documented: every route has its models and error shapes."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    with TestClient(create_app(platform, TOKEN), base_url="http://127.0.0.1") as client:
        yield client


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_document_lists_versioned_paths_with_models_and_errors(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    assert api.get("/api/v1/openapi.json").json() == doc
    assert doc["info"]["x-api-version"] == "v1"
    assert "/api/v1/online-endpoints/{endpoint}/deployments/{name}" in doc["paths"]
    assert "/api/v1/{segment}/{name}/latest" in doc["paths"]
    schemas = doc["components"]["schemas"]
    for spec in ("OnlineEndpointSpec", "OnlineDeploymentSpec", "ModelSpec", "EnvironmentSpec"):
        assert "properties" in schemas[spec]
    for path, method, operation in operations(doc):
        where = (
            f"{method.upper()} {path}: see docs/internals.md, 'Versioning and the OpenAPI document'"
        )
        answers = operation["responses"]
        assert "422" not in answers, where
        ok = [code for code in answers if code.startswith("2")]
        assert ok, where
        content = answers[ok[0]].get("content", {})
        if "application/json" in content:  # file answers document their own content type
            assert "$ref" in str(content["application/json"]["schema"]), (
                f"no response model: {where}"
            )
        if not path.startswith("/api/"):
            continue  # routes outside the admin API (worker exchanges) keep their own auth
        assert path.startswith("/api/v1/"), where
        errors = ("500",) if path == "/api/v1/health" else ("400", "401", "404", "409", "500")
        for code in errors:
            ref = answers[code]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody"), f"{where} ({code})"
        if method in ("post", "put") and "requestBody" in operation:
            body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert body.split("/")[-1] in schemas, where
    assert doc["paths"]["/api/v1/health"]["get"]["security"] == []


def test_versioned_and_unversioned_paths_answer_the_same(api: TestClient) -> None:
    for path in ("/api/online-endpoints", "/api/v1/online-endpoints"):
        answer = api.get(path, headers=AUTH)
        assert (answer.status_code, answer.json()) == (200, [])
        assert answer.headers["x-switchman-api-version"] == "v1"
    created = api.post("/api/v1/online-endpoints", json={"spec": {"name": "ep-one"}}, headers=AUTH)
    assert created.status_code == 201
    view = api.get("/api/online-endpoints/ep-one", headers=AUTH).json()
    assert view == created.json()
    assert (view["name"], view["auth_mode"], view["provisioning_state"]) == (
        "ep-one",
        "key",
        "Succeeded",
    )
    assert "details" not in api.get("/api/v1/online-endpoints/nope", headers=AUTH).json()


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("get", "/api/v1/online-endpoints", None, 401, "Unauthorized"),
        ("get", "/api/v1/online-endpoints/missing", AUTH, 404, "ResourceNotFound"),
        ("get", "/api/v1/no/such/route/here", AUTH, 404, "ResourceNotFound"),
        ("patch", "/api/v1/online-endpoints", AUTH, 405, "MethodNotAllowed"),
    ],
)
def test_errors_have_the_documented_shape(
    api: TestClient, method: str, path: str, body: Any, status: int, code: str
) -> None:
    answer = api.request(method.upper(), path, headers=body)
    assert answer.status_code == status
    assert set(answer.json()) == {"message", "code"}
    assert answer.json()["code"] == code


def test_bad_bodies_are_400_naming_the_field(api: TestClient) -> None:
    answer = api.post("/api/v1/online-endpoints", json={"spec": {"name": "x"}}, headers=AUTH)
    assert answer.status_code == 400
    assert "name" in answer.json()["message"]
    answer = api.post("/api/v1/online-endpoints", content=b"{not json", headers=AUTH)
    assert answer.status_code == 400
    assert answer.json()["code"] == "BadArgument"
    logs = "/api/v1/online-endpoints/e/deployments/d/logs?lines=-1"
    assert api.get(logs, headers=AUTH).json()["code"] == "BadArgument"
