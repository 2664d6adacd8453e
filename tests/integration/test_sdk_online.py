"""The SDK runs Azure's online-endpoint notebooks, changed only in their import lines
(tests/testdata/sdk), against a real platform on loopback with the platform's example model."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.notebook import run_cells
from tests.support.platform import Platform
from tests.support.proc import wait_for

pytestmark = pytest.mark.integration

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "testdata" / "sdk"


@pytest.fixture
def notebook_dir(
    example_dir: Path, tmp_path: Path, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The azureml-examples layout (sdk/python/endpoints/online/{managed,model-1,model-2}) made
    of the example model; the notebook runs in managed/ against the test platform's home."""
    root = tmp_path / "online"
    for n in (1, 2):
        model = root / f"model-{n}"
        shutil.copytree(example_dir / f"model-{n}" / "onlinescoring", model / "onlinescoring")
        shutil.copytree(example_dir / f"model-{n}" / "model", model / "model")
        shutil.copytree(example_dir / "environment", model / "environment")
        shutil.copy(example_dir / "sample-request.json", model / "sample-request.json")
    (root / "managed").mkdir()
    monkeypatch.chdir(root / "managed")
    monkeypatch.setenv("SWITCHMAN_HOME", str(platform.home))
    yield root


def output_of(outputs: list[tuple[str, Any]], fragment: str) -> list[Any]:
    return [value for source, value in outputs if fragment in source]


def test_simple_deployment_notebook(notebook_dir: Path, platform: Platform) -> None:
    scope: dict[str, Any] = {"__name__": "__notebook__"}
    outputs = run_cells(TRANSCRIPTS / "online-endpoints-simple-deployment.ipy", scope)
    name = scope["endpoint_name"]
    # The local endpoint (created first) and the managed one of the same name lived side by side.
    local_view = output_of(outputs, "online_endpoints.get(name=endpoint_name, local=True)")[0]
    assert (local_view.name, local_view.location) == (name, "local")
    invoked = output_of(outputs, "online_endpoints.invoke(")
    assert len(invoked) == 2 and all(len(json.loads(answer)) == 2 for answer in invoked)
    logs = output_of(outputs, "online_deployments.get_logs(")
    assert len(logs) == 2 and all(isinstance(text, str) and text for text in logs)
    assert scope["endpoint"].traffic == {"blue": 100}
    assert scope["endpoint"].scoring_uri.startswith("http://127.0.0.1:")
    # The last cell starts the delete without waiting; it finishes on its own.
    ml_client = scope["ml_client"]
    wait_for(lambda: name not in [e.name for e in ml_client.online_endpoints.list()], timeout=60)
    assert [e.name for e in ml_client.online_endpoints.list(local=True)] == [name]
    ml_client.online_endpoints.begin_delete(name=name, local=True).result()


def test_safe_rollout_notebook(notebook_dir: Path, platform: Platform) -> None:
    scope: dict[str, Any] = {"__name__": "__notebook__"}
    outputs = run_cells(TRANSCRIPTS / "online-endpoints-safe-rollout.ipy", scope)
    name = scope["online_endpoint_name"]
    ml_client = scope["ml_client"]
    # Scaled to 2 while blue took all traffic, then green took over and blue was deleted.
    assert scope["blue_deployment"].instance_count == 2
    assert [d.name for d in ml_client.online_deployments.list(endpoint_name=name)] == ["green"]
    # Each `ml_client.begin_create_or_update(endpoint).result()` answered the endpoint as stored.
    mirrored = output_of(outputs, 'endpoint.mirror_traffic = {"green": 10}')[0]
    assert mirrored.mirror_traffic == {"green": 10}
    assert output_of(outputs, 'endpoint.mirror_traffic = {"green": 0}')[0].mirror_traffic == {}
    split = output_of(outputs, 'endpoint.traffic = {"blue": 90, "green": 10}')[0]
    assert split.traffic == {"blue": 90, "green": 10}
    final = output_of(outputs, 'endpoint.traffic = {"blue": 0, "green": 100}')[0]
    assert final.traffic == {"blue": 0, "green": 100}
    answers = [a for a in output_of(outputs, "online_endpoints.invoke(") if a is not None]
    assert len(answers) == 2 and all(len(json.loads(a)) == 2 for a in answers)
    wait_for(lambda: name not in [e.name for e in ml_client.online_endpoints.list()], timeout=60)


def test_registry_and_errors(notebook_dir: Path, platform: Platform) -> None:
    from switchman.ml import MLClient, ResourceExistsError, ResourceNotFoundError
    from switchman.ml.entities import Environment, ManagedOnlineEndpoint, Model

    ml_client = MLClient.from_config(path=notebook_dir)  # no config.json: SWITCHMAN_HOME
    model = ml_client.models.create_or_update(Model(name="sdk-model", path="../model-1/model"))
    assert (model.name, model.version) == ("sdk-model", "1")
    assert model.id and model.id.endswith("/models/sdk-model/versions/1")
    assert ml_client.models.get("sdk-model", label="latest").version == "1"
    assert [m.version for m in ml_client.models.list(name="sdk-model")] == ["1"]
    env = ml_client.environments.create_or_update(
        Environment(name="sdk-env", conda_file="../model-1/environment/conda.yaml")
    )
    assert isinstance(env.conda_file, dict) and env.version == "1"
    assert ml_client.environments.get("sdk-env", version="1").name == "sdk-env"

    with pytest.raises(ResourceNotFoundError, match="'no-such-endpoint'") as caught:
        ml_client.online_endpoints.get("no-such-endpoint")
    assert caught.value.status_code == 404
    with pytest.raises(ResourceNotFoundError, match="sdk-model"):
        ml_client.models.get("sdk-model", version="9")
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="sdk-ep")).result()
    with pytest.raises(ResourceNotFoundError, match="'blue'"):
        ml_client.online_deployments.get(name="blue", endpoint_name="sdk-ep")
    keys = ml_client.online_endpoints.get_keys("sdk-ep")
    assert getattr(keys, "primary_key", None)
    ml_client.online_endpoints.begin_regenerate_keys("sdk-ep", key_type="secondary").result()
    assert ml_client.online_endpoints.get_keys("sdk-ep").secondary_key != keys.secondary_key
    with pytest.raises(ResourceExistsError):
        ml_client.models.create_or_update(
            Model(name="sdk-model", version="1", path="../model-1/model")
        )
    ml_client.online_endpoints.begin_delete(name="sdk-ep").result()
