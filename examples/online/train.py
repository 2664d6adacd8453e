"""Train the two example models (no downloads: scikit-learn ships the diabetes data set).

model-1: linear regression on the 10 diabetes features; model-2: ridge regression on the same.
Each is written to model-N/model/sklearn_regression_model.pkl, the layout of the azureml-examples
online sample, so score.py finds it at $AZUREML_MODEL_DIR/model/sklearn_regression_model.pkl.
"""

from __future__ import annotations

import sys
from pathlib import Path

import joblib
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, Ridge


def main(root: Path) -> None:
    x, y = load_diabetes(return_X_y=True)
    for folder, model in (("model-1", LinearRegression()), ("model-2", Ridge(alpha=0.5))):
        model.fit(x, y)
        out = root / folder / "model"
        out.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, out / "sklearn_regression_model.pkl")
        print(f"trained {folder}: {type(model).__name__}, R^2={model.score(x, y):.3f} -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
