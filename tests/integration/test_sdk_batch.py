"""The SDK runs Azure's MLflow batch notebook (deploy-models/heart-classifier-mlflow), changed
only in its import lines, against a real platform: the platform's own MLflow model (scikit-learn,
tests/support/mlflow_models) in place of the notebook's XGBoost one, on CSV files it can score."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.support.mlflow_models import shared_models
from tests.support.notebook import run_cells
from tests.support.platform import Platform

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRANSCRIPT = (
    Path(__file__).resolve().parent.parent / "testdata" / "sdk" / "mlflow-for-batch-tabular.ipy"
)
ONLINE_ENV = Path(__file__).resolve().parent.parent.parent / "examples" / "online" / "environment"


def test_mlflow_batch_notebook(
    platform: Platform,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The notebook's folder: model/ (MLflow), data/ (unlabeled CSVs), environment/, code/.
    shutil.copytree(shared_models(tmp_path_factory)["sklearn"], tmp_path / "model")
    (tmp_path / "data").mkdir()
    for i in range(3):
        frame = pd.DataFrame({"age": [0.1 * i, 0.2], "bmi": [0.3, 0.1 * i], "bp": [0.2, 0.1]})
        frame.to_csv(tmp_path / "data" / f"heart-unlabeled-{i}.csv", index=False)
    shutil.copytree(ONLINE_ENV, tmp_path / "environment")
    (tmp_path / "code").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SWITCHMAN_HOME", str(platform.home))

    scope: dict[str, Any] = {"__name__": "__notebook__"}
    run_cells(TRANSCRIPT, scope)

    job, scoring_job, score = scope["job"], scope["scoring_job"], scope["score"]
    assert scoring_job.name == job.name and scoring_job.status == "Completed"
    assert scoring_job.creation_context.last_modified_at >= scoring_job.creation_context.created_at
    # One prediction per row of every file, named by the file (the built-in MLflow scorer).
    assert len(score) == 6
    assert sorted(set(score["file"])) == [f"heart-unlabeled-{i}.csv" for i in range(3)]
    assert (tmp_path / "code" / "batch_driver.py").read_text().lstrip().startswith("import os")
    ml_client = scope["ml_client"]
    assert scope["endpoint"].defaults.deployment_name == "classifier-xgboost"
    assert job.name in {j.name for j in ml_client.jobs.list()}
    # The last cell deleted the endpoint (and waited for it).
    assert scope["endpoint_name"] not in [e.name for e in ml_client.batch_endpoints.list()]
