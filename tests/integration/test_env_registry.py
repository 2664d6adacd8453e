"""Registered models and environments through the CLI and REST API, used by real deployments."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from switchman.errors import NotFoundError
from tests.support.env import TESTDATA
from tests.support.platform import Platform, running_platform

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PINNED = TESTDATA / "pinned"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("env-home")) as running:
        yield running


def test_model_versions_latest_and_archive(platform: Platform, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.txt").write_text("v1")
    spec = tmp_path / "model.yml"
    spec.write_text("name: reg-model\npath: model\ndescription: from a file\n")
    first = platform.json("model", "create", "-f", str(spec))
    assert (first["version"], first["path"]) == ("1", str(folder))
    (folder / "weights.txt").write_text("v2")  # the registered snapshot must not change
    assert (Path(first["asset"]) / "model" / "weights.txt").read_text() == "v1"
    # An mlflow_model needs its MLmodel file (checked at registration, issue 11).
    (folder / "MLmodel").write_text("flavors:\n  python_function:\n    loader_module: m\n")
    second = platform.json(
        "model", "create", "-n", "reg-model", "--path", str(folder), "-t", "mlflow_model"
    )
    assert (second["version"], second["type"]) == ("2", "mlflow_model")
    assert platform.json("model", "show", "-n", "reg-model", "-l", "latest")["version"] == "2"
    api = platform.client()  # the REST API behind the CLI (fewer CLI processes: ~1s each)
    assert api.request("GET", "/api/models/reg-model/versions/1")["description"] == "from a file"
    platform.run("model", "archive", "-n", "reg-model", "-v", "2")
    assert api.request("GET", "/api/models/reg-model/latest")["version"] == "1"
    names = api.request("GET", "/api/models", params={"name": "reg-model"})
    assert [m["version"] for m in names] == ["1"]
    listed = platform.json("model", "list", "-n", "reg-model", "--include-archived")
    assert [(m["version"], m["archived"]) for m in listed] == [("1", False), ("2", True)]
    again = platform.run("model", "create", "-f", str(spec), "-v", "1", check=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    with pytest.raises(NotFoundError, match="model list -n reg-model"):
        api.request("GET", "/api/models/reg-model/versions/9")
    api.close()


def test_registered_environment_versions_in_deployments(platform: Platform, tmp_path: Path) -> None:
    first = platform.json("environment", "create", "-f", str(PINNED / "environment.yml"))
    assert first["version"] == "1"
    assert first["conda_file"]["dependencies"][-1] == {"pip": ["idna==3.6"]}
    second = platform.json(
        "environment", "create", "-n", "pinned-env", "-c", str(PINNED / "conda-v2.yaml")
    )
    assert second["version"] == "2"
    assert (
        platform.json("environment", "show", "-n", "pinned-env", "-l", "latest")["version"] == "2"
    )
    api = platform.client()
    listed = api.request("GET", "/api/environments", params={"name": "pinned-env"})
    assert [e["version"] for e in listed] == ["1", "2"]

    platform.run("online-endpoint", "create", "-f", str(PINNED / "endpoint.yml"))
    platform.run(
        "online-deployment", "create", "-f", str(PINNED / "deployment.yml"), "--all-traffic"
    )
    platform.run(
        "online-deployment", "create", "-f", str(PINNED / "deployment.yml"), "-n", "latest",
        "--set", "environment=azureml:pinned-env@latest",
    )  # fmt: skip
    key = api.request("POST", "/api/online-endpoints/env-ep/credentials")["primaryKey"]
    uri = api.request("GET", "/api/online-endpoints/env-ep")["scoring_uri"]
    api.close()
    seen = {}
    for deployment in ("pinned", "latest"):
        answer = httpx.post(
            uri,
            content=b"{}",
            headers={"Authorization": f"Bearer {key}", "azureml-model-deployment": deployment},
            timeout=30,
            trust_env=False,
        )
        assert answer.status_code == 200, answer.text
        seen[deployment] = json.loads(answer.text)
    assert seen["pinned"]["idna"] == "3.6" and seen["latest"]["idna"] == "3.7"
    envs = platform.home / "envs"
    for body in seen.values():
        assert Path(body["prefix"]).parent == envs

    stray = envs / ("f" * 64)
    stray.mkdir()
    (stray / ".complete").write_text("")
    pruned = platform.json("environment", "prune", "--yes")
    assert pruned["removed"] == ["f" * 64]
    assert sorted(pruned["kept"]) == sorted(Path(b["prefix"]).name for b in seen.values())


def test_unknown_environment_reference_is_a_clear_error(platform: Platform) -> None:
    done = platform.run(
        "online-deployment", "create", "-f", str(PINNED / "deployment.yml"), "-n", "missing",
        "--set", "environment=azureml:no-such-env:4", check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "no-such-env" in done.stderr and "switchman environment create" in done.stderr
