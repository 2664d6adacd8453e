"""The JSON bodies an MLflow model answers (issue 11, reference §12.2): which shape, what data.

One body, one shape key; the key decides:

=====================  =====================================================================
``input_data``         Azure ML: split DataFrame ``{"columns", "index", "data"}``, a tensor
                       (a list), or named tensors (a mapping of name → list)
``dataframe_split``    MLflow server: ``{"columns", "data"}`` (``index`` optional)
``dataframe_records``  MLflow server: a list of ``{column: value}`` rows
``instances``          MLflow server (TF-serving row format): a list of rows or of mappings
``inputs``             MLflow server (TF-serving columnar format): a list or name → list
=====================  =====================================================================

``params`` may go beside any of them. Pure functions of the decoded JSON: no pandas here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SHAPE_KEYS = ("input_data", "dataframe_split", "dataframe_records", "instances", "inputs")


class PayloadError(Exception):
    """The body cannot be read as an MLflow model input; answered with 400 and ``message``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Payload:
    """A decoded request.

    Attributes:
        key: the shape key the body used (decides the reply's shape too).
        form: ``split`` (columns + rows), ``records`` (list of mappings), ``tensor`` (nested
            lists) or ``named`` (name → nested lists).
        columns: column names for ``split``.
        data: rows (``split``), mappings (``records``), the nested list (``tensor``) or the
            mapping (``named``).
        params: the ``params`` mapping, if given.
    """

    key: str
    form: str
    data: Any
    columns: list[str] | None = None
    params: dict[str, Any] | None = field(default=None)

    @property
    def azure(self) -> bool:
        """True for Azure ML's ``input_data``: the reply is the bare predictions."""
        return self.key == "input_data"


def decode(body: bytes) -> dict[str, Any]:
    """The JSON body as a mapping; raises :class:`PayloadError` for anything else."""
    if not body.strip():
        raise PayloadError(
            'The request body is empty. Send JSON such as {"input_data": {"columns": [...], '
            '"data": [[...]]}} (or dataframe_split, dataframe_records, instances, inputs).'
        )
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise PayloadError(
            f"The request body must be a JSON object with one of the keys {', '.join(SHAPE_KEYS)}; "
            f"got a JSON {type(value).__name__}."
        )
    return value


def parse(document: dict[str, Any]) -> Payload:
    """Which shape the body uses and its data; raises :class:`PayloadError`."""
    keys = [k for k in SHAPE_KEYS if k in document]
    unknown = sorted(k for k in document if k not in SHAPE_KEYS and k != "params")
    if unknown:
        raise PayloadError(
            f"Unknown key(s) in the request body: {', '.join(unknown)}. Use exactly one of "
            f"{', '.join(SHAPE_KEYS)}, plus optionally params."
        )
    if not keys:
        raise PayloadError(
            f"The request body has none of the keys {', '.join(SHAPE_KEYS)}. Azure ML's format is "
            '{"input_data": {"columns": [...], "index": [...], "data": [[...]]}}.'
        )
    if len(keys) > 1:
        raise PayloadError(
            f"The request body has {len(keys)} shape keys ({', '.join(keys)}); send exactly one."
        )
    key = keys[0]
    params = document.get("params")
    if params is not None and not isinstance(params, dict):
        raise PayloadError(f"`params` must be a JSON object, got {type(params).__name__}.")
    value = document[key]
    if key in ("input_data", "dataframe_split") and isinstance(value, dict) and "data" in value:
        return _split(key, value, params)
    if key == "dataframe_split":
        raise PayloadError(
            '`dataframe_split` must be an object with "columns" and "data" (pandas split orient).'
        )
    if key == "dataframe_records":
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise PayloadError("`dataframe_records` must be a list of {column: value} objects.")
        return Payload(key, "records", value, params=params)
    if (
        key == "instances"
        and isinstance(value, list)
        and value
        and all(isinstance(r, dict) for r in value)
    ):
        return Payload(key, "records", value, params=params)
    if isinstance(value, dict):
        return Payload(key, "named", value, params=params)
    if isinstance(value, list):
        return Payload(key, "tensor", value, params=params)
    raise PayloadError(
        f"`{key}` must be a list (a tensor) or an object, got {type(value).__name__}."
    )


def _split(key: str, value: dict[str, Any], params: dict[str, Any] | None) -> Payload:
    extra = sorted(set(value) - {"columns", "data", "index"})
    if extra:
        raise PayloadError(
            f"`{key}` has unknown key(s) {', '.join(extra)}; the split orientation has "
            '"columns", "index" and "data".'
        )
    data = value["data"]
    if not isinstance(data, list):
        raise PayloadError(f"`{key}.data` must be a list of rows, got {type(data).__name__}.")
    columns = value.get("columns")
    if columns is not None and (
        not isinstance(columns, list) or not all(isinstance(c, str | int) for c in columns)
    ):
        raise PayloadError(f"`{key}.columns` must be a list of column names.")
    names = [str(c) for c in columns] if columns is not None else None
    if names is not None:
        width = len(names)
        for number, row in enumerate(data):
            if not isinstance(row, list) or len(row) != width:
                got = len(row) if isinstance(row, list) else type(row).__name__
                raise PayloadError(
                    f"`{key}.data` row {number} has {got} values but there are {width} columns "
                    f"({', '.join(names)})."
                )
    index = value.get("index")
    if index is not None and (not isinstance(index, list) or len(index) != len(data)):
        raise PayloadError(f"`{key}.index` must be a list with one entry per row of data.")
    return Payload(key, "split", data, columns=names, params=params)
