import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    pass


@input_schema("data", NumpyParameterType(np.array([[1.0, 2.0, 3.0]])))
@input_schema("scale", StandardPythonParameterType(1.0))
@output_schema(StandardPythonParameterType({"sum": 1.0, "type": "ndarray"}))
def run(data, scale):
    return {"sum": float(data.sum() * scale), "type": type(data).__name__}
