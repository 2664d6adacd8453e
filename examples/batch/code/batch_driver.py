import os
from pathlib import Path

import joblib
import pandas as pd

model = None


def init():
    global model
    # AZUREML_MODEL_DIR holds the registered folder: model/sklearn_regression_model.pkl
    model = joblib.load(
        Path(os.environ["AZUREML_MODEL_DIR"]) / "model" / "sklearn_regression_model.pkl"
    )


def run(mini_batch):
    print(f"Executing run method over batch of {len(mini_batch)} files.")
    frames = []
    for path in mini_batch:
        features = pd.read_csv(path)
        frames.append(
            pd.DataFrame(
                {
                    "file": os.path.basename(path),
                    "row": range(len(features)),
                    "prediction": model.predict(features.to_numpy()).round(2),
                }
            )
        )
    return pd.concat(frames)
