"""The built-in batch scorer of MLflow models deployed without a scoring script (issue 11, §4.6).

A batch worker imports this module for an ``mlflow_model`` batch deployment without
``code_configuration`` (``switchman.batch.scorer.builtin_scorer``) and calls, per the batch
contract (reference §4.4):

- :func:`init` once: finds the MLflow model under ``AZUREML_MODEL_DIR`` (or
  ``SWITCHMAN_MLFLOW_MODEL``) and loads its pyfunc;
- :func:`run` per mini-batch: each file is read — ``.csv``, ``.parquet``, ``.pqt`` as a
  DataFrame, ``.png .jpg .jpeg .tiff .tif .bmp .gif`` as a numpy array — and predicted once (MLflow's
  pyfunc enforces the signature); any other type raises an error naming the file.

The result is the ``append_row`` output of Azure ML's MLflow batch deployments (§4.5): CSV lines
without header, ``row, prediction, file_name`` per input row of a table, ``prediction,
file_name`` per image.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

TABULAR = frozenset({".csv", ".parquet", ".pqt"})
IMAGES = frozenset({".png", ".jpg", ".jpeg", ".tiff", ".tif", ".bmp", ".gif"})
MODEL_VARIABLE = "SWITCHMAN_MLFLOW_MODEL"

_model: Any = None


class UnsupportedFile(ValueError):
    """A file the MLflow batch scorer cannot read."""


def find_model(root: str | Path) -> Path:
    """The folder holding ``MLmodel``: ``root`` itself or a folder one or two levels down."""
    base = Path(root)
    for candidate in (base, *sorted(base.glob("*")), *sorted(base.glob("*/*"))):
        if (candidate / "MLmodel").is_file():
            return candidate
    raise FileNotFoundError(
        f"No MLflow model (a folder with an MLmodel file) under {base}; register the model with "
        "--type mlflow_model and the folder that mlflow wrote."
    )


def init() -> None:
    """Load the pyfunc model once per worker process."""
    global _model
    folder = os.environ.get(MODEL_VARIABLE) or str(find_model(os.environ["AZUREML_MODEL_DIR"]))
    import mlflow.pyfunc

    _model = mlflow.pyfunc.load_model(folder)


def read_input(path: str | Path) -> tuple[Any, bool]:
    """(data, tabular?) for one input file; raises :class:`UnsupportedFile` naming it."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".csv":
        import pandas as pd

        return pd.read_csv(file), True
    if suffix in (".parquet", ".pqt"):
        import pandas as pd

        return pd.read_parquet(file), True
    if suffix in IMAGES:
        import numpy as np
        from PIL import Image

        with Image.open(file) as image:
            return np.asarray(image), False
    raise UnsupportedFile(
        f"The MLflow batch scorer cannot read {file.name} ({file}): it reads .csv, .parquet and "
        f".pqt files as tables and {', '.join(sorted(IMAGES))} images. Remove the file from the "
        "input, or deploy with a scoring script (code_configuration) that reads it."
    )


def predictions(result: Any) -> list[Any]:
    """One value per input row from whatever predict returned."""
    if hasattr(result, "columns") and hasattr(result, "to_dict"):  # a DataFrame
        if len(result.columns) == 1:
            return list(result.iloc[:, 0].tolist())
        return list(result.to_dict(orient="records"))
    if hasattr(result, "tolist"):
        value = result.tolist()
        return value if isinstance(value, list) else [value]
    if isinstance(result, list | tuple):
        return list(result)
    return [result]


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def lines_for(name: str, values: list[Any], tabular: bool) -> list[str]:
    """The CSV lines (no header) of one file's predictions."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if tabular:
        for row, value in enumerate(values):
            writer.writerow([row, _cell(value), name])
    else:
        writer.writerow([_cell(values[0] if len(values) == 1 else values), name])
    return buffer.getvalue().splitlines()


def run(mini_batch: list[str]) -> list[str]:
    """Predict each file of the mini-batch; returns the output lines (see the module docstring)."""
    if _model is None:
        raise RuntimeError("init() has not loaded the MLflow model")
    out: list[str] = []
    for path in mini_batch:
        data, tabular = read_input(path)
        out.extend(lines_for(Path(path).name, predictions(_model.predict(data)), tabular))
    return out
