"""Same API surface as azureml-examples model-1 onlinescoring/score.py: joblib model, JSON string."""

import json
import logging
import os

import joblib
import numpy


def init():
    global model
    model = joblib.load(
        os.path.join(os.getenv("AZUREML_MODEL_DIR"), "sklearn_regression_model.pkl")
    )
    logging.info("Init complete")


def run(raw_data):
    data = numpy.array(json.loads(raw_data)["data"])
    return model.predict(data).tolist()
