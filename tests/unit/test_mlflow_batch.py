"""The built-in MLflow batch scorer (issue 11, reference §4.4–§4.6) with a fake pyfunc: file
types, one predict per file, the append_row lines."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from switchman.runtime import mlflow_batch


class FakePyfunc:
    def __init__(self) -> None:
        self.inputs: list[Any] = []

    def predict(self, data: Any) -> Any:
        self.inputs.append(data)
        if isinstance(data, pd.DataFrame):
            return data.to_numpy().sum(axis=1)
        return np.array([float(np.asarray(data).mean())])


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakePyfunc:
    model = FakePyfunc()
    monkeypatch.setattr(mlflow_batch, "_model", model)
    return model


def parsed(lines: list[str]) -> list[list[str]]:
    return list(csv.reader(io.StringIO("\n".join(lines))))


def test_tables_give_row_prediction_file_name(tmp_path: Path, fake: FakePyfunc) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    frame.to_csv(tmp_path / "one.csv", index=False)
    frame.to_parquet(tmp_path / "two.parquet")
    frame.head(1).to_parquet(tmp_path / "three.pqt")
    lines = mlflow_batch.run([str(tmp_path / n) for n in ("one.csv", "two.parquet", "three.pqt")])
    assert parsed(lines) == [
        ["0", "4.0", "one.csv"], ["1", "6.0", "one.csv"],
        ["0", "4.0", "two.parquet"], ["1", "6.0", "two.parquet"],
        ["0", "4.0", "three.pqt"],
    ]  # fmt: skip
    assert len(fake.inputs) == 3  # predict once per file
    assert all(isinstance(x, pd.DataFrame) for x in fake.inputs)


def test_images_are_arrays_with_one_line_per_file(tmp_path: Path, fake: FakePyfunc) -> None:
    from PIL import Image

    Image.new("RGB", (4, 3), (10, 20, 30)).save(tmp_path / "pic.png")
    lines = mlflow_batch.run([str(tmp_path / "pic.png")])
    assert parsed(lines) == [["20.0", "pic.png"]]
    assert fake.inputs[0].shape == (3, 4, 3)


def test_other_file_types_fail_naming_the_file(tmp_path: Path, fake: FakePyfunc) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(mlflow_batch.UnsupportedFile) as err:
        mlflow_batch.run([str(tmp_path / "notes.txt")])
    assert "notes.txt" in str(err.value) and ".parquet" in str(err.value)


def test_complex_predictions_are_stringified() -> None:
    multi = pd.DataFrame({"p": [0.1], "q": [0.9]})
    values = mlflow_batch.predictions(multi)
    assert parsed(mlflow_batch.lines_for("f.csv", values, True)) == [
        ["0", '{"p": 0.1, "q": 0.9}', "f.csv"]
    ]
    assert mlflow_batch.predictions(pd.DataFrame({"p": [1, 2]})) == [1, 2]
    assert mlflow_batch.predictions([1, 2]) == [1, 2] and mlflow_batch.predictions(3) == [3]


def test_model_folder_is_found_below_the_model_dir(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("flavors: {}\n")
    assert mlflow_batch.find_model(tmp_path) == tmp_path / "model"
    with pytest.raises(FileNotFoundError, match="No MLflow model"):
        mlflow_batch.find_model(tmp_path / "model" / "...")


def test_run_before_init_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mlflow_batch, "_model", None)
    with pytest.raises(RuntimeError, match="init"):
        mlflow_batch.run([])
