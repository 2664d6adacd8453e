"""Train the batch example's model and write its unlabeled input (no downloads: scikit-learn ships
the diabetes data set).

model/sklearn_regression_model.pkl: a linear regression on the 10 diabetes features;
data/part-NN.csv: the features of the 442 patients, 20 files of about 22 rows, no labels.
"""

from __future__ import annotations

import sys
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression


def main(root: Path) -> None:
    x, y = load_diabetes(return_X_y=True)
    model = LinearRegression().fit(x, y)
    out = root / "model"
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "sklearn_regression_model.pkl")
    data = root / "data"
    data.mkdir(exist_ok=True)
    header = ",".join(f"f{i}" for i in range(x.shape[1]))
    for n, part in enumerate(np.array_split(x, 20)):
        np.savetxt(data / f"part-{n:02d}.csv", part, delimiter=",", header=header, comments="")
    print(f"trained {type(model).__name__} (R^2={model.score(x, y):.3f}); wrote 20 files to {data}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
