"""An MLflow signature, enforced on a decoded payload: the model input, or a 400 naming the column.

Runs inside the instance only (imports numpy and pandas). The signature comes from ``MLmodel``
(see :mod:`switchman.spec.mlmodel`), decoded JSON:

- column-based inputs (``[{"name": "age", "type": "double", "required": true}, ...]``): the
  payload's columns must be the signature's (a missing required column, an unknown column, a
  value that cannot be converted to the column's type — NaN/null in an integer, boolean or
  string column included — are errors); the result is a DataFrame in the signature's order;
- tensor-based inputs (``[{"type": "tensor", "tensor-spec": {"dtype", "shape"}}]``): the
  payload's array must have the signature's number of dimensions and fixed sizes, and convert
  to its dtype; named tensors by name;
- ``params``: unknown names are errors, defaults fill the rest.

``exact`` in the result says the input now satisfies the signature completely, so the scorer
may call the flavor's predict directly instead of MLflow's own (slower) enforcement. Types this
module does not check itself (arrays, objects, maps) leave ``exact`` False.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from switchman.runtime.mlflow_payload import Payload, PayloadError

_DTYPES: dict[str, Any] = {
    "double": np.float64,
    "float": np.float32,
    "long": np.int64,
    "integer": np.int32,
    "boolean": np.bool_,
    "string": object,
    "binary": object,
    "datetime": "datetime64[ns]",
}
_FLOATS = ("double", "float")


@dataclass(frozen=True)
class Column:
    name: str
    type: Any  # "double", ... or a mapping for array/object/map types
    required: bool = True


@dataclass(frozen=True)
class Tensor:
    name: str | None
    dtype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Signature:
    """The decoded ``signature`` of an MLmodel (inputs and params)."""

    columns: tuple[Column, ...] = ()
    tensors: tuple[Tensor, ...] = ()
    params: tuple[dict[str, Any], ...] = ()
    has_inputs: bool = False
    names: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_mlmodel(cls, signature: dict[str, Any] | None) -> Signature:
        if not signature:
            return cls()
        inputs = signature.get("inputs") or []
        columns: list[Column] = []
        tensors: list[Tensor] = []
        for position, spec in enumerate(inputs):
            if spec.get("type") == "tensor":
                ts = spec.get("tensor-spec") or {}
                tensors.append(
                    Tensor(spec.get("name"), str(ts.get("dtype")), tuple(ts.get("shape") or ()))
                )
            else:
                name = spec.get("name", position)
                columns.append(
                    Column(str(name), spec.get("type"), bool(spec.get("required", True)))
                )
        return cls(
            tuple(columns),
            tuple(tensors),
            tuple(signature.get("params") or ()),
            has_inputs=bool(inputs),
            names=tuple(c.name for c in columns),
        )


@dataclass
class ModelInput:
    data: Any
    params: dict[str, Any] | None
    exact: bool


def model_input(payload: Payload, signature: Signature) -> ModelInput:
    """The model input for ``payload`` under ``signature``; raises :class:`PayloadError`."""
    params = check_params(payload.params, signature)
    if signature.columns:
        frame, exact = _columns(payload, signature)
        return ModelInput(frame, params, exact)
    if signature.tensors:
        return ModelInput(_tensors(payload, signature.tensors), params, exact=True)
    return ModelInput(_plain(payload), params, exact=False)


def check_params(params: dict[str, Any] | None, signature: Signature) -> dict[str, Any] | None:
    """``params`` checked against the signature's params, defaults filled in."""
    if not signature.params:
        if params:
            raise PayloadError(
                f"The model's signature declares no params, but the request sends "
                f"{', '.join(sorted(params))}."
            )
        return None
    given = dict(params or {})
    known = {str(p["name"]): p for p in signature.params}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise PayloadError(
            f"Unknown param(s) {', '.join(unknown)}; the model's signature declares "
            f"{', '.join(sorted(known))}."
        )
    return {name: given.get(name, spec.get("default")) for name, spec in known.items()}


# --- column-based ----------------------------------------------------------------------------
def _columns(payload: Payload, signature: Signature) -> tuple[Any, bool]:
    names = list(signature.names)
    given, rows_or_cols = _as_columns(payload, names)
    wanted = {c.name for c in signature.columns}
    unknown = [n for n in given if n not in wanted]
    if unknown:
        raise PayloadError(
            f"Unknown column(s) {', '.join(map(repr, unknown))}: the model's signature has the "
            f"columns {', '.join(map(repr, names))}."
        )
    missing = [c.name for c in signature.columns if c.required and c.name not in given]
    if missing:
        raise PayloadError(
            f"Missing required column(s) {', '.join(map(repr, missing))}: the model's signature "
            f"has the columns {', '.join(map(repr, names))}."
        )
    specs = [c for c in signature.columns if c.name in given]
    exact = all(isinstance(c.type, str) and c.type in _DTYPES for c in specs)
    kinds = {c.type for c in specs}
    if exact and len(kinds) == 1 and next(iter(kinds)) in ("double", "float", "long", "integer"):
        kind = next(iter(kinds))
        order = [given.index(c.name) for c in specs]
        fast = _fast_matrix(rows_or_cols, order, _DTYPES[kind], specs, given)
        if fast is not None:
            return pd.DataFrame(fast, columns=[c.name for c in specs], copy=False), True
    series = {}
    for spec in specs:
        values = _column_values(rows_or_cols, given.index(spec.name))
        series[spec.name] = _convert(values, spec)
    return pd.DataFrame(series), exact


def _as_columns(payload: Payload, names: list[str]) -> tuple[list[str], Any]:
    """(column names given, rows as lists in that order)."""
    if payload.form == "split":
        if payload.columns is None:
            _check_width(payload.data, len(names), payload.key, names)
            return list(names), payload.data
        return list(payload.columns), payload.data
    if payload.form == "records":
        seen: dict[str, None] = {}
        for row in payload.data:
            seen.update(dict.fromkeys(map(str, row)))
        cols = list(seen)
        return cols, [[row.get(c) for c in cols] for row in payload.data]
    if payload.form == "tensor":
        data = payload.data
        if data and not isinstance(data[0], list):
            data = [data]  # one row
        _check_width(data, len(names), payload.key, names)
        return list(names), data
    # named: column → values
    cols = [str(c) for c in payload.data]
    values = [v if isinstance(v, list) else [v] for v in payload.data.values()]
    lengths = {len(v) for v in values}
    if len(lengths) > 1:
        raise PayloadError(f"The columns in `{payload.key}` have different lengths.")
    return cols, [list(r) for r in zip(*values, strict=True)]


def _check_width(rows: list[Any], width: int, key: str, names: list[str]) -> None:
    for number, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            got = len(row) if isinstance(row, list) else 1
            raise PayloadError(
                f"`{key}` row {number} has {got} values; the model's signature has {width} "
                f"columns ({', '.join(map(repr, names))})."
            )


def _fast_matrix(
    rows: list[list[Any]], order: list[int], dtype: Any, specs: list[Column], given: list[str]
) -> Any:
    """All columns of one numeric type: one numpy conversion (None → fall back to per column)."""
    try:
        matrix = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if matrix.ndim != 2:
        return None
    if order != list(range(matrix.shape[1])):
        matrix = matrix[:, order]
    if dtype in (np.float64, np.float32):
        return matrix if dtype is np.float64 else matrix.astype(dtype)
    return None  # integers: the per-column path checks NaN and fractions


def _column_values(rows: list[list[Any]], index: int) -> list[Any]:
    return [row[index] for row in rows]


def _convert(values: list[Any], spec: Column) -> Any:
    kind = spec.type
    if not isinstance(kind, str) or kind not in _DTYPES:
        return pd.Series(values, dtype=object)  # arrays/objects: MLflow's enforcement checks them
    nulls = [i for i, v in enumerate(values) if v is None or (isinstance(v, float) and v != v)]
    if nulls and kind not in _FLOATS and kind != "datetime":
        what = "a missing value (null/NaN)" if spec.required or kind != "string" else None
        if what:
            raise PayloadError(
                f"Column {spec.name!r} has {what} in row {nulls[0]}; its signature type is "
                f"{kind}, which cannot hold one."
            )
    try:
        if kind in _FLOATS:
            return np.asarray(values, dtype=np.float64).astype(_DTYPES[kind], copy=False)
        if kind in ("long", "integer"):
            floats = np.asarray(values, dtype=np.float64)
            if not np.all(np.mod(floats, 1) == 0) or any(isinstance(v, bool) for v in values):
                raise ValueError("not whole numbers")
            return floats.astype(_DTYPES[kind])
        if kind == "boolean":
            if not all(isinstance(v, bool) for v in values):
                raise ValueError("not true/false")
            return np.asarray(values, dtype=np.bool_)
        if kind == "datetime":
            return pd.to_datetime(pd.Series(values))
        if kind == "string":
            if not all(isinstance(v, str) or v is None for v in values):
                raise ValueError("not text")
            return pd.Series(values, dtype=object)
        return pd.Series(values, dtype=object)
    except (TypeError, ValueError, OverflowError):
        bad = _first_bad(values, kind)
        raise PayloadError(
            f"Column {spec.name!r} expects {kind} values (the model's signature), but row "
            f"{bad[0]} has {bad[1]!r}, which cannot be converted."
        ) from None


def _first_bad(values: list[Any], kind: str) -> tuple[int, Any]:
    for i, v in enumerate(values):
        try:
            if kind in _FLOATS:
                float(v)
            elif kind in ("long", "integer"):
                if isinstance(v, bool) or float(v) % 1:
                    raise ValueError
            elif kind == "boolean":
                if not isinstance(v, bool):
                    raise ValueError
            elif kind == "string" and not isinstance(v, str):
                raise ValueError
        except (TypeError, ValueError):
            return i, v
    return 0, values[0] if values else None


# --- tensor-based ----------------------------------------------------------------------------
def _tensors(payload: Payload, tensors: tuple[Tensor, ...]) -> Any:
    if len(tensors) == 1 and tensors[0].name is None:
        data = payload.data
        if payload.form == "split":
            data = payload.data
        elif payload.form == "named":
            raise PayloadError(
                "The model's signature has one unnamed tensor input; send a list, not an object."
            )
        elif payload.form == "records":
            raise PayloadError("The model's signature has a tensor input; send a list of rows.")
        return _tensor(data, tensors[0], "input")
    if payload.form != "named":
        names = ", ".join(repr(t.name) for t in tensors)
        raise PayloadError(
            f"The model's signature has named tensor inputs ({names}); send an object."
        )
    given = payload.data
    known = {str(t.name): t for t in tensors}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise PayloadError(
            f"Unknown input(s) {', '.join(map(repr, unknown))}; the model's signature has "
            f"{', '.join(map(repr, known))}."
        )
    missing = [n for n in known if n not in given]
    if missing:
        raise PayloadError(f"Missing input(s) {', '.join(map(repr, missing))}.")
    return {name: _tensor(given[name], spec, repr(name)) for name, spec in known.items()}


def _tensor(data: Any, spec: Tensor, label: str) -> Any:
    try:
        array = np.asarray(data, dtype=np.dtype(spec.dtype))
    except (TypeError, ValueError, OverflowError) as exc:
        raise PayloadError(
            f"Input {label} cannot be converted to a {spec.dtype} tensor ({exc})."
        ) from None
    shape = spec.shape
    if shape and (
        array.ndim != len(shape)
        or any(want not in (-1, got) for want, got in zip(shape, array.shape, strict=True))
    ):
        raise PayloadError(
            f"Input {label} has shape {tuple(array.shape)}; the model's signature expects "
            f"{tuple(shape)} (-1 = any size)."
        )
    return array


# --- no signature ----------------------------------------------------------------------------
def _plain(payload: Payload) -> Any:
    if payload.form == "split":
        return pd.DataFrame(payload.data, columns=payload.columns)
    if payload.form == "records":
        return pd.DataFrame(payload.data)
    if payload.form == "named":
        if payload.key in ("input_data", "inputs", "instances"):
            return {k: np.asarray(v) for k, v in payload.data.items()}
        return pd.DataFrame(payload.data)
    return np.asarray(payload.data)


def jsonable(value: Any) -> Any:
    """Predictions as JSON values (a DataFrame as records, as Azure ML returns it)."""
    if isinstance(value, pd.DataFrame):
        return value.to_dict(orient="records")
    if isinstance(value, pd.Series | np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
