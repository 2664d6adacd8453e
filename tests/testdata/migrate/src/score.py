"""A v1-style scoring script: init() loads the model from AZUREML_MODEL_DIR, run() scores JSON."""

import json
import os

import joblib

model = None


def init():
    global model
    model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model.pkl")
    model = joblib.load(model_path)


def run(raw_data):
    data = json.loads(raw_data)["data"]
    return model.predict(data).tolist()
