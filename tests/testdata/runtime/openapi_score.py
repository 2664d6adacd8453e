"""Same API surface as azureml-examples managed/openapi decorated score.py."""

import logging
import os

import joblib
import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    global model
    model = joblib.load(
        os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model/sklearn_regression_model.pkl")
    )
    logging.info("Init complete")


@input_schema(
    param_name="data", param_type=NumpyParameterType(np.array([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]))
)
@output_schema(output_type=StandardPythonParameterType({"output": [1.0, 1.0]}))
def run(data):
    return {"output": model.predict(data).tolist()}
