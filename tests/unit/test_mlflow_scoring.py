"""The built-in MLflow scorer's pure parts: body shapes, signature enforcement, swagger, replies
(issue 11). pandas and numpy only; the scorer's model is a fake with the pyfunc surface."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from switchman.runtime.compat import AMLRequest
from switchman.runtime.datastructures import Headers
from switchman.runtime.mlflow_payload import PayloadError, decode, parse
from switchman.runtime.mlflow_schema import Signature, jsonable, model_input
from switchman.runtime.mlflow_scorer import MLflowScorer
from switchman.runtime.mlflow_swagger import documents, example

COLUMNS = {
    "inputs": [
        {"type": "double", "name": "age", "required": True},
        {"type": "long", "name": "visits", "required": True},
        {"type": "string", "name": "sex", "required": False},
    ],
    "outputs": [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}],
    "params": [{"name": "scale", "type": "double", "default": 1.0, "shape": None}],
}
TENSOR = {
    "inputs": [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}],
    "outputs": None,
    "params": None,
}
NUMERIC = {"inputs": [{"type": "double", "name": c} for c in ("a", "b")], "outputs": None}


def body(value: Any) -> Any:
    return parse(decode(json.dumps(value).encode()))


@pytest.mark.parametrize(
    ("document", "key", "form"),
    [
        ({"input_data": {"columns": ["a"], "index": [0], "data": [[1]]}}, "input_data", "split"),
        ({"input_data": [[1, 2]]}, "input_data", "tensor"),
        ({"input_data": {"tokens": [[1]], "mask": [[0]]}}, "input_data", "named"),
        ({"dataframe_split": {"columns": ["a"], "data": [[1]]}}, "dataframe_split", "split"),
        ({"dataframe_records": [{"a": 1}]}, "dataframe_records", "records"),
        ({"instances": [[1, 2]]}, "instances", "tensor"),
        ({"instances": [{"a": 1}]}, "instances", "records"),
        ({"inputs": {"a": [1, 2]}, "params": {"k": 1}}, "inputs", "named"),
    ],
)
def test_each_shape_key_decides_the_form(document: Any, key: str, form: str) -> None:
    payload = body(document)
    assert (payload.key, payload.form) == (key, form)
    assert payload.azure == (key == "input_data")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "empty"),
        (b"{bad", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"input_data": [[1]], "instances": [[1]]}', "2 shape keys (input_data, instances)"),
        (b'{"data": [[1]]}', "Unknown key(s) in the request body: data"),
        (b'{"params": {}}', "has none of the keys"),
        (b'{"dataframe_split": [[1]]}', '"columns" and "data"'),
        (b'{"dataframe_records": [[1]]}', "list of {column: value}"),
        (b'{"input_data": {"columns": ["a", "b"], "data": [[1]]}}', "row 0 has 1 values"),
        (b'{"input_data": [[1]], "params": [1]}', "`params` must be a JSON object"),
    ],
)
def test_bad_bodies_say_why(raw: bytes, expected: str) -> None:
    with pytest.raises(PayloadError) as err:
        parse(decode(raw))
    assert expected in err.value.message


def test_column_signature_orders_and_converts() -> None:
    sig = Signature.from_mlmodel(COLUMNS)
    got = model_input(
        body(
            {"dataframe_records": [{"sex": "f", "visits": 2, "age": 30.5}, {"age": 1, "visits": 3}]}
        ),
        sig,
    )
    frame = got.data
    assert list(frame.columns) == ["age", "visits", "sex"]
    assert frame["visits"].dtype == np.int64 and frame["age"].dtype == np.float64
    assert got.params == {"scale": 1.0} and got.exact


def test_numeric_columns_take_the_fast_path_in_the_signature_order() -> None:
    sig = Signature.from_mlmodel(NUMERIC)
    got = model_input(body({"input_data": {"columns": ["b", "a"], "data": [[2, 1], [4, 3]]}}), sig)
    assert list(got.data.columns) == ["a", "b"]
    assert got.data.to_numpy().tolist() == [[1.0, 2.0], [3.0, 4.0]]
    # A bare tensor for a column signature: the signature's column order.
    plain = model_input(body({"input_data": [[1, 2]]}), sig)
    assert plain.data.to_numpy().tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"input_data": {"columns": ["age"], "data": [[1.0]]}},
            "Missing required column(s) 'visits'",
        ),
        (
            {"input_data": {"columns": ["age", "visits", "zip"], "data": [[1.0, 1, 2]]}},
            "Unknown column(s) 'zip'",
        ),
        (
            {"dataframe_records": [{"age": "old", "visits": 1}]},
            "Column 'age' expects double values (the model's signature), but row 0 has 'old'",
        ),
        ({"dataframe_records": [{"age": 1.0, "visits": 1.5}]}, "Column 'visits' expects long"),
        (
            {"dataframe_records": [{"age": 1.0, "visits": None}]},
            "Column 'visits' has a missing value",
        ),
        (
            {"dataframe_records": [{"age": 1.0, "visits": 1, "sex": 3}]},
            "Column 'sex' expects string",
        ),
        ({"input_data": [[1.0, 2]]}, "row 0 has 2 values; the model's signature has 3 columns"),
        (
            {"dataframe_records": [{"age": 1.0, "visits": 1}], "params": {"k": 1}},
            "Unknown param(s) k",
        ),
    ],
)
def test_signature_violations_name_the_column(document: Any, expected: str) -> None:
    with pytest.raises(PayloadError) as err:
        model_input(body(document), Signature.from_mlmodel(COLUMNS))
    assert expected in err.value.message


def test_tensor_signature_checks_shape_and_dtype() -> None:
    sig = Signature.from_mlmodel(TENSOR)
    got = model_input(body({"inputs": [[1, 2], [3, 4]]}), sig)
    assert got.data.dtype == np.float32 and got.data.shape == (2, 2)
    with pytest.raises(PayloadError, match=r"shape \(1, 3\).*\(-1, 2\)"):
        model_input(body({"input_data": [[1, 2, 3]]}), sig)
    with pytest.raises(PayloadError, match="cannot be converted to a float32 tensor"):
        model_input(body({"input_data": [["a", "b"]]}), sig)


def test_no_signature_passes_data_through() -> None:
    sig = Signature.from_mlmodel(None)
    assert isinstance(
        model_input(body({"dataframe_split": {"columns": ["x"], "data": [[1]]}}), sig).data,
        pd.DataFrame,
    )
    assert model_input(body({"instances": [[1, 2]]}), sig).data.tolist() == [[1, 2]]
    named = model_input(body({"inputs": {"t": [1, 2]}}), sig).data
    assert named["t"].tolist() == [1, 2]
    with pytest.raises(PayloadError, match="declares no params"):
        model_input(body({"instances": [[1]], "params": {"k": 1}}), sig)


def test_jsonable_matches_azure_ml_replies() -> None:
    assert jsonable(np.array([1.5, 2.0])) == [1.5, 2.0]
    assert jsonable(pd.DataFrame({"p": [1, 2]})) == [{"p": 1}, {"p": 2}]
    assert jsonable({"a": np.float32(1.5), "b": pd.Series([1])}) == {"a": 1.5, "b": [1]}


def test_swagger_from_signature_with_example(tmp_path: Path) -> None:
    (tmp_path / "input_example.json").write_text(json.dumps({"columns": ["age"], "data": [[1.0]]}))
    sample = example(tmp_path, {"path": "input_example.json"})
    assert sample == {"input_data": {"columns": ["age"], "index": [0], "data": [[1.0]]}}
    docs = documents(COLUMNS, sample, name="svc", version="1")
    schema = docs["2"]["definitions"]["ServiceInput"]
    columns = schema["properties"]["input_data"]["properties"]["columns"]["items"]["enum"]
    assert columns == ["age", "visits", "sex"]
    assert schema["example"] == sample
    assert "scale" in schema["properties"]["params"]["properties"]
    assert docs["3"]["openapi"].startswith("3.0") and docs["3.1"]["openapi"] == "3.1.0"
    tensor = documents(TENSOR, None, name="svc", version="1")["3"]
    assert "ServiceInput" in json.dumps(tensor)


class FakePyfunc:
    """The pyfunc surface the scorer uses: ``predict`` (MLflow's) and ``_predict_fn`` (flavor's)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _predict_fn(self, data: Any, params: Any = None) -> Any:
        self.calls.append("flavor")
        if (data.to_numpy() < 0).any():
            raise ValueError("negative input\nmore detail")
        return data.to_numpy().sum(axis=1)

    def predict(self, data: Any, params: Any = None) -> Any:
        self.calls.append("mlflow")
        return np.asarray(data).sum(axis=1)


def scorer(signature: dict[str, Any] | None) -> tuple[MLflowScorer, FakePyfunc]:
    s = MLflowScorer("/nowhere")
    fake = FakePyfunc()
    s.model, s.predict_fn, s.signature = fake, fake._predict_fn, Signature.from_mlmodel(signature)
    return s, fake


def post(s: MLflowScorer, document: Any, content_type: str = "application/json") -> tuple[int, Any]:
    headers = Headers()
    headers["Content-Type"] = content_type
    reply = s.run(AMLRequest("POST", "/score", b"", headers, json.dumps(document).encode()))
    return reply.status_code, json.loads(reply.get_data())


def test_scorer_replies_in_azure_and_mlflow_shapes() -> None:
    s, fake = scorer(NUMERIC)
    assert post(s, {"input_data": {"columns": ["a", "b"], "data": [[1, 2]]}}) == (200, [3.0])
    assert post(s, {"dataframe_records": [{"a": 1, "b": 1}]}) == (200, {"predictions": [2.0]})
    assert fake.calls == ["flavor", "flavor"]
    status, reply = post(s, {"input_data": {"columns": ["a"], "data": [[1]]}})
    assert status == 400 and reply["code"] == "BadInput" and "'b'" in reply["message"]
    status, reply = post(s, {"input_data": [[-1, 0]]})
    assert status == 400 and "ValueError: negative input" in reply["message"]
    assert "more detail" not in reply["message"]
    assert post(s, {"input_data": [[1, 1]]}, "text/csv")[0] == 415
    assert post(s, {"input_data": [[1, 1]]}) == (200, [2.0])  # still serving


def test_scorer_without_signature_uses_mlflow_predict() -> None:
    s, fake = scorer(None)
    assert post(s, {"instances": [[1, 2]]}) == (200, {"predictions": [3]})
    assert fake.calls == ["mlflow"]
