"""MLflow no-code batch deployments end to end (issue 11, reference §4.4–§4.6): a real MLflow model,
the real batch scheduler and workers; the built-in scorer writes row, prediction, file_name."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.support.batch import TESTDATA, predictions, wait
from tests.support.mlflow_models import shared_models
from tests.support.platform import Platform

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENDPOINT = "mlflow-batch"


@pytest.fixture(scope="module")
def deployed(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Platform:
    import yaml

    models = shared_models(tmp_path_factory)
    if platform.run("compute", "show", "-n", "batch-cluster", check=False).returncode != 0:
        platform.run("compute", "create", "-f", str(TESTDATA / "compute.yml"), "-o", "none")
    platform.run("batch-endpoint", "create", "-n", ENDPOINT, "-o", "none")
    spec = {
        "name": "mlflow-nocode",
        "endpoint_name": ENDPOINT,
        "type": "model",
        "model": {"path": str(models["sklearn"]), "type": "mlflow_model"},
        "compute": "azureml:batch-cluster",
        "resources": {"instance_count": 1},
        "settings": {
            "max_concurrency_per_instance": 1,
            "mini_batch_size": 2,
            "retry_settings": {"max_retries": 0, "timeout": 60},
            "error_threshold": 0,
        },
    }
    file = tmp_path_factory.mktemp("mlflow-batch") / "deployment.yml"
    file.write_text(yaml.safe_dump(spec))
    platform.run("batch-deployment", "create", "-f", str(file), "--set-default", "-o", "none")
    return platform


def invoke(platform: Platform, folder: Path) -> str:
    return platform.run(
        "batch-endpoint", "invoke", "-n", ENDPOINT, "--input", str(folder),
        "--input-type", "uri_folder", "--query", "name", "-o", "tsv",
    ).stdout.strip()  # fmt: skip


def test_tables_become_row_prediction_file_name(deployed: Platform, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame({"age": [0.0, 1.0], "bmi": [0.0, 1.0], "bp": [0.0, 1.0]}).to_csv(
        data / "a.csv", index=False
    )
    pd.DataFrame({"age": [0.5], "bmi": [0.0], "bp": [0.0]}).to_parquet(data / "b.parquet")
    job = invoke(deployed, data)
    view = wait(deployed, job, timeout=240)
    assert view["status"] == "Completed", json.dumps(view)[:2000]
    rows = sorted(predictions(deployed, job, tmp_path / "out"), key=lambda r: (r[2], r[0]))
    assert [(r[0], r[2]) for r in rows] == [("0", "a.csv"), ("1", "a.csv"), ("0", "b.parquet")]
    values = [float(r[1]) for r in rows]
    assert values == pytest.approx([1.0, 26.0, 6.0])


def test_other_file_types_fail_the_job_naming_the_file(deployed: Platform, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("not a table\n")
    job = invoke(deployed, data)
    view = wait(deployed, job, timeout=240)
    assert view["status"] == "Failed"
    deployed.run("job", "download", "-n", job, "--all", "--download-path", str(tmp_path / "all"))
    errors = "\n".join(p.read_text() for p in (tmp_path / "all").rglob("*.txt"))
    assert "notes.txt" in errors and "cannot read" in errors
