"""MLflow no-code online deployments end to end (issue 11): real MLflow models saved by the test,
the real CLI, platform, router and instances on 127.0.0.1.

Deployments whose requirements the platform's Python satisfies use it (no venv build); the
relaxed-pins deployment builds one venv with uv (from uv's cache after the first run).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.mlflow_models import OLD_NUMPY, shared_models
from tests.support.platform import Platform

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENDPOINT = "mlflow-ep"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return shared_models(tmp_path_factory)


@pytest.fixture(scope="module")
def ready(platform: Platform, models: dict[str, Path]) -> Platform:
    platform.run("online-endpoint", "create", "-n", ENDPOINT)
    return platform


def deployment_file(tmp_path: Path, name: str, model: Any, **extra: Any) -> Path:
    import yaml

    spec = {
        "name": name,
        "endpoint_name": ENDPOINT,
        "model": model,
        "instance_type": "Standard_DS2_v2",
        "instance_count": 1,
        **extra,
    }
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(spec))
    return path


_ADDRESS: dict[Path, tuple[str, str]] = {}


def score(platform: Platform, deployment: str, document: Any) -> httpx.Response:
    # One CLI round for the URI and key per platform (each CLI process costs about a second).
    if platform.home not in _ADDRESS:
        uri = platform.json("online-endpoint", "show", "-n", ENDPOINT)["scoring_uri"]
        _ADDRESS[platform.home] = (uri, platform.key(ENDPOINT))
    uri, key = _ADDRESS[platform.home]
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {key}",
        "azureml-model-deployment": deployment,
    }
    return httpx.post(uri, content=raw, headers=headers, timeout=30, trust_env=False)


def failing(platform: Platform, *args: str) -> str:
    done = platform.run(*args, check=False)
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    return done.stderr


def test_registered_model_shows_flavors_and_signature(
    ready: Platform, models: dict[str, Path]
) -> None:
    shown = ready.json(
        "model", "create", "--name", "diabetes", "--type", "mlflow_model",
        "--path", str(models["sklearn"]),
    )  # fmt: skip
    assert shown["type"] == "mlflow_model"
    assert shown["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert "sklearn" in shown["flavors"]
    names = [c["name"] for c in shown["signature"]["inputs"]]
    assert names == ["age", "bmi", "bp"]
    again = ready.json("model", "show", "-n", "diabetes", "-v", "1")
    assert again["signature"] == shown["signature"]


def test_bad_mlflow_folders_are_refused_and_nothing_is_registered(
    ready: Platform, tmp_path: Path, models: dict[str, Path]
) -> None:
    empty = tmp_path / "no-mlmodel"
    empty.mkdir()
    (empty / "model.pkl").write_bytes(b"x")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "MLmodel").write_text("flavors: [unclosed\n")
    nopyfunc = tmp_path / "nopyfunc"
    nopyfunc.mkdir()
    (nopyfunc / "MLmodel").write_text("flavors:\n  sklearn:\n    pickled_model: m.pkl\n")
    assets_before = (
        sorted((ready.home / "assets").iterdir()) if (ready.home / "assets").exists() else []
    )
    for folder, expected in (
        (empty, "has no MLmodel file"),
        (broken, "is not valid YAML at line"),
        (nopyfunc, "no `python_function` flavor"),
    ):
        err = failing(
            ready, "model", "create", "-n", "bad-mlflow", "-t", "mlflow_model", "-p", str(folder)
        )
        assert expected in err and str(folder) in err
    listed = ready.json("model", "list", "-n", "bad-mlflow")
    assert listed == []
    assert sorted((ready.home / "assets").iterdir()) == assets_before
    err = failing(
        ready, "online-deployment", "create", "-f",
        str(deployment_file(tmp_path, "broken", {"path": str(nopyfunc), "type": "mlflow_model"})),
    )  # fmt: skip
    assert "no `python_function` flavor" in err
    assert [d["name"] for d in ready.json("online-deployment", "list", "-e", ENDPOINT)] == []


def test_no_code_sklearn_deployment_answers_every_shape(ready: Platform, tmp_path: Path) -> None:
    ready.run(
        "online-deployment", "create", "-f",
        str(deployment_file(tmp_path, "blue", "azureml:diabetes@latest")), "--all-traffic",
    )  # fmt: skip
    row = [0.03, 0.06, 0.02]
    expected = 10 * row[0] + 20 * row[1] - 5 * row[2] + 1
    split = {"columns": ["age", "bmi", "bp"], "index": [0], "data": [row]}
    answers = {
        "azure split": score(ready, "blue", {"input_data": split}),
        "azure tensor": score(ready, "blue", {"input_data": [row]}),
        "dataframe_split": score(ready, "blue", {"dataframe_split": split}),
        "dataframe_records": score(
            ready, "blue", {"dataframe_records": [dict(zip(split["columns"], row, strict=True))]}
        ),
        "instances": score(ready, "blue", {"instances": [row]}),
        "inputs": score(
            ready, "blue", {"inputs": {"age": [row[0]], "bmi": [row[1]], "bp": [row[2]]}}
        ),
    }
    for shape, answer in answers.items():
        assert answer.status_code == 200, (shape, answer.text)
        body = answer.json()
        values = body if shape.startswith("azure") else body["predictions"]
        assert values == pytest.approx([expected]), shape
        assert answer.headers["azureml-model-deployment"] == "blue"

    # Bad requests: the instance answers 400 naming the problem, the router 424 (reference §6.4).
    for document, reason in (
        (
            {"input_data": {"columns": ["age", "bmi"], "data": [[1, 2]]}},
            "Missing required column(s) 'bp'",
        ),
        (
            {"input_data": {"columns": ["age", "bmi", "bp", "zip"], "data": [[1, 2, 3, 4]]}},
            "Unknown column(s) 'zip'",
        ),
        ({"dataframe_records": [{"age": "old", "bmi": 1, "bp": 1}]}, "Column 'age' expects double"),
        ({"input_data": [row], "instances": [row]}, "2 shape keys"),
        (b"{not json", "not valid JSON"),
        (
            {"input_data": {"columns": ["age", "bmi", "bp"], "data": [[float("nan"), 1, 1]]}},
            "contains NaN",
        ),
    ):
        answer = score(ready, "blue", document)
        assert answer.status_code == 424, answer.text
        assert answer.headers["ms-azureml-model-error-statuscode"] == "400"
        assert reason in answer.json()["details"]["model_message"], answer.text
    assert score(ready, "blue", {"input_data": split}).status_code == 200  # still serving

    endpoint = ready.json("online-endpoint", "show", "-n", ENDPOINT)
    swagger = httpx.get(
        endpoint["openapi_uri"], headers={"Authorization": f"Bearer {ready.key(ENDPOINT)}"},
        timeout=30, trust_env=False,
    )  # fmt: skip
    assert swagger.status_code == 200, swagger.text
    service_input = swagger.json()["definitions"]["ServiceInput"]
    columns = service_input["properties"]["input_data"]["properties"]["columns"]["items"]["enum"]
    assert columns == ["age", "bmi", "bp"]
    assert service_input["example"]["input_data"]["columns"] == ["age", "bmi", "bp"]


def test_inline_custom_pyfunc_without_signature(
    ready: Platform, tmp_path: Path, models: dict[str, Path]
) -> None:
    model = {"path": str(models["custom"]), "type": "mlflow_model"}
    ready.run("online-deployment", "create", "-f", str(deployment_file(tmp_path, "custom", model)))
    answer = score(ready, "custom", {"input_data": [[1, 2], [3, 4]]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == [6.0, 14.0]
    answer = score(ready, "custom", {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 1]]}})
    assert answer.json() == {"predictions": [4.0]}
    logs = ready.run(
        "online-deployment", "get-logs", "-e", ENDPOINT, "-n", "custom", "--container",
        "storage-initializer",
    ).stdout  # fmt: skip
    assert "the platform's Python satisfies every requirement" in logs


SCORE_PY = textwrap.dedent(
    """
    import json, os
    import mlflow.pyfunc
    import pandas as pd

    def init():
        global model
        root = os.environ["AZUREML_MODEL_DIR"]
        folder = next(os.path.join(root, d) for d in os.listdir(root))
        model = mlflow.pyfunc.load_model(folder)

    def run(raw):
        rows = json.loads(raw)["rows"]
        frame = pd.DataFrame(rows, columns=["age", "bmi", "bp"])
        return {"scored_by": "script", "values": model.predict(frame).tolist()}
    """
)


def test_scoring_script_with_mlflow_model_needs_an_environment(
    ready: Platform, tmp_path: Path
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "score.py").write_text(SCORE_PY)
    configuration = {"code": str(code), "scoring_script": "score.py"}
    err = failing(
        ready, "online-deployment", "create", "-f",
        str(deployment_file(tmp_path, "script", "azureml:diabetes:1", code_configuration=configuration)),
    )  # fmt: skip
    assert "needs an environment" in err and "'script'" in err
    environment = {
        "conda_file": {"dependencies": [{"pip": ["mlflow-skinny", "scikit-learn", "pandas"]}]}
    }
    ready.run(
        "online-deployment", "create", "-f",
        str(deployment_file(
            tmp_path, "script", "azureml:diabetes:1", code_configuration=configuration,
            environment=environment,
        )),
    )  # fmt: skip
    answer = score(ready, "script", {"rows": [[0.0, 0.0, 0.0]]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"scored_by": "script", "values": pytest.approx([1.0])}


def test_uninstallable_pin_fails_then_relaxes(
    ready: Platform, tmp_path: Path, models: dict[str, Path]
) -> None:
    model = {"path": str(models["relax"]), "type": "mlflow_model"}
    err = failing(
        ready, "online-deployment", "create", "-f", str(deployment_file(tmp_path, "strict", model))
    )
    assert "ImageBuildFailure" in err or "Environment build failed" in err
    assert OLD_NUMPY in err and "on Python 3." in err and "SWITCHMAN_RELAX_PINS" in err

    relaxed = deployment_file(
        tmp_path, "relaxed", model, environment_variables={"SWITCHMAN_RELAX_PINS": "1"}
    )
    ready.run("online-deployment", "create", "-f", str(relaxed), timeout=600)
    answer = score(ready, "relaxed", {"input_data": [[1, 2]]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == [6.0]
    logs = ready.run(
        "online-deployment", "get-logs", "-e", ENDPOINT, "-n", "relaxed", "--container",
        "storage-initializer",
    ).stdout  # fmt: skip
    assert f"WARNING: {OLD_NUMPY} cannot be installed" in logs
