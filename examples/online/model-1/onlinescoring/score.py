import json
import logging
import os

import joblib
import numpy


def init():
    """Called once when the instance starts: load the model from AZUREML_MODEL_DIR."""
    global model
    # AZUREML_MODEL_DIR points at the model's folder; a folder model keeps its own name ("model").
    model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model/sklearn_regression_model.pkl")
    if not os.path.exists(model_path):  # a file model (the SDK notebooks register the .pkl itself)
        model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "sklearn_regression_model.pkl")
    model = joblib.load(model_path)
    logging.info("Init complete")


def run(raw_data):
    """Called per request with the body as a string: {"data": [[10 floats], ...]}."""
    logging.info("model 1: request received")
    data = json.loads(raw_data)["data"]
    data = numpy.array(data)
    result = model.predict(data)
    logging.info("Request processed")
    return result.tolist()
