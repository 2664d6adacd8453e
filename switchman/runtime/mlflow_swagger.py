"""Swagger 2 / OpenAPI 3 documents for an MLflow model, from its signature (issue 11).

The request schema is Azure ML's ``input_data`` shape for the signature's inputs (a split
DataFrame for column signatures, a tensor or named tensors for tensor signatures) with the
columns and their JSON types; the example is the model's saved input example in that shape.
Pure: JSON in, JSON out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from switchman.runtime.swagger import _openapi3, _swagger2

_JSON_TYPES = {
    "double": {"type": "number", "format": "double"},
    "float": {"type": "number", "format": "float"},
    "long": {"type": "integer", "format": "int64"},
    "integer": {"type": "integer", "format": "int32"},
    "boolean": {"type": "boolean"},
    "string": {"type": "string"},
    "binary": {"type": "string", "format": "binary"},
    "datetime": {"type": "string", "format": "date-time"},
}


def _json_type(kind: Any) -> dict[str, Any]:
    if isinstance(kind, str) and kind in _JSON_TYPES:
        return dict(_JSON_TYPES[kind])
    if isinstance(kind, str) and kind.startswith(("float", "int", "uint")):
        return {"type": "number" if kind.startswith("float") else "integer", "format": kind}
    if kind == "bool":
        return {"type": "boolean"}
    return {}


def _nested(item: dict[str, Any], shape: list[int]) -> dict[str, Any]:
    schema = item
    for _ in shape or [-1]:
        schema = {"type": "array", "items": schema}
    return schema


def input_schema(signature: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON schema of ``{"input_data": ...}`` for this signature."""
    inputs = (signature or {}).get("inputs") or []
    if not inputs:
        return {"type": "object", "properties": {"input_data": {}}, "required": ["input_data"]}
    if all(spec.get("type") == "tensor" for spec in inputs):
        tensors = {
            str(spec.get("name", "input")): _nested(
                _json_type(spec["tensor-spec"].get("dtype")), spec["tensor-spec"].get("shape") or []
            )
            for spec in inputs
        }
        if len(inputs) == 1 and inputs[0].get("name") is None:
            data: dict[str, Any] = next(iter(tensors.values()))
        else:
            data = {"type": "object", "properties": tensors, "required": sorted(tensors)}
    else:
        columns = [str(spec.get("name", i)) for i, spec in enumerate(inputs)]
        cell = {"oneOf": [_json_type(spec.get("type")) for spec in inputs]}
        data = {
            "type": "object",
            "properties": {
                "columns": {"type": "array", "items": {"type": "string", "enum": columns}},
                "index": {"type": "array", "items": {"type": "integer"}},
                "data": {"type": "array", "items": {"type": "array", "items": cell}},
            },
            "required": ["columns", "data"],
            "description": "Columns: "
            + ", ".join(
                f"{name} ({spec.get('type')}{'' if spec.get('required', True) else ', optional'})"
                for name, spec in zip(columns, inputs, strict=True)
            ),
        }
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"input_data": data},
        "required": ["input_data"],
    }
    params = (signature or {}).get("params") or []
    if params:
        schema["properties"]["params"] = {
            "type": "object",
            "properties": {
                str(p["name"]): {**_json_type(p.get("type")), "default": p.get("default")}
                for p in params
            },
        }
    return schema


def output_schema(signature: dict[str, Any] | None) -> dict[str, Any]:
    outputs = (signature or {}).get("outputs") or []
    if len(outputs) == 1 and outputs[0].get("type") == "tensor":
        spec = outputs[0]["tensor-spec"]
        return _nested(_json_type(spec.get("dtype")), spec.get("shape") or [-1])
    if outputs:
        return {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    str(o.get("name", i)): _json_type(o.get("type")) for i, o in enumerate(outputs)
                },
            },
        }
    return {"type": "array", "items": {}}


def example(model_dir: Path, info: dict[str, Any] | None) -> dict[str, Any] | None:
    """The saved input example as an ``input_data`` body, or None."""
    if not info or not info.get("path"):
        return None
    try:
        raw = json.loads((model_dir / str(info["path"])).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(raw, dict) and "columns" in raw and "data" in raw:
        rows = raw["data"]
        return {
            "input_data": {"columns": raw["columns"], "index": list(range(len(rows))), "data": rows}
        }
    if isinstance(raw, dict) and "inputs" in raw:
        return {"input_data": raw["inputs"]}
    return {"input_data": raw}


def documents(
    signature: dict[str, Any] | None,
    sample: dict[str, Any] | None,
    *,
    name: str,
    version: str,
    prefix: str = "",
) -> dict[str, dict[str, Any]]:
    """``{"2": swagger2, "3": openapi3, "3.1": openapi31}`` for the model."""
    service_input = input_schema(signature)
    if sample is not None:
        service_input["example"] = sample
    service_output = output_schema(signature)
    info = {
        "title": name,
        "description": f"API specification for the Azure Machine Learning service {name}",
        "version": version,
    }
    prefix = f"/{prefix.strip('/')}" if prefix.strip("/") else ""
    v3 = _openapi3(info, prefix, service_input, service_output)
    v31 = {**json.loads(json.dumps(v3)), "openapi": "3.1.0"}
    return {"2": _swagger2(info, prefix, service_input, service_output), "3": v3, "3.1": v31}
