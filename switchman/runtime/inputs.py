"""Turn an HTTP request into ``run()``'s keyword arguments (reference/aml-behaviour.md §9.3)."""

from __future__ import annotations

import inspect
import json
from typing import Any
from urllib.parse import parse_qsl

from switchman.runtime.compat import AMLRequest
from switchman.runtime.forms import parse_options_header
from switchman.runtime.loader import InputMode, UserScript
from switchman.runtime.wire import HttpRequest


class InputError(Exception):
    """The request cannot be given to ``run()``; answered with ``status`` and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class MethodNotScored(Exception):
    """A verb routed to /score that this input mode does not score (OPTIONS → 200 empty)."""


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def query_parameters(query: bytes) -> dict[str, Any]:
    """``a=1&b=[1,2]&c=x&c=y`` → ``{"a": 1, "b": [1, 2], "c": ["x", "y"]}`` (values JSON-parsed)."""
    grouped: dict[str, list[str]] = {}
    for key, value in parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True):
        grouped.setdefault(key, []).append(value)
    return {
        key: _json_or_text(values[0]) if len(values) == 1 else [_json_or_text(v) for v in values]
        for key, values in grouped.items()
    }


def build_kwargs(script: UserScript, request: HttpRequest) -> dict[str, Any]:
    """The arguments for ``run()``; raises :class:`InputError` or :class:`MethodNotScored`."""
    mode = script.mode
    if mode is InputMode.RAW:
        kwargs: dict[str, Any] = {script.data_param: _aml_request(request)}
    elif request.method == "POST":
        if mode is InputMode.STRING:
            try:
                kwargs = {script.data_param: request.body.decode("utf-8")}
            except UnicodeDecodeError as exc:
                raise InputError(400, f"Input cannot be decoded as UTF-8: {exc}") from None
        else:
            kwargs = _extract(script.schema_params, _json_body(request))
    elif request.method == "GET":
        params = query_parameters(request.query)
        if mode is InputMode.STRING:
            kwargs = {script.data_param: json.dumps(params)}
        else:
            kwargs = _extract(script.schema_params, params)
    else:
        raise MethodNotScored(request.method)
    if script.wants_headers:
        kwargs["request_headers"] = request.headers_dict()
    return kwargs


def _aml_request(request: HttpRequest) -> AMLRequest:
    return AMLRequest(
        request.method,
        request.path,
        request.query,
        request.headers_object(),
        request.body,
        remote_addr=request.remote,
    )


def _json_body(request: HttpRequest) -> dict[str, Any]:
    mimetype = parse_options_header(request.header("content-type"))[0]
    if not (
        mimetype == "application/json"
        or (mimetype.startswith("application/") and mimetype.endswith("+json"))
    ):
        raise InputError(415, "Expects Content-Type to be application/json")
    body = request.body
    try:
        value = json.loads(body)
    except ValueError as exc:
        if body:
            raise InputError(400, f"POST body could not be decoded as JSON: {exc}") from None
        raise InputError(400, "POST body is empty. Expecting a JSON dictionary.") from None
    if not isinstance(value, dict):
        raise InputError(400, "POST body should be a JSON dictionary.")
    return value


def _extract(params: list[inspect.Parameter], body: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for param in params:
        value = body.get(param.name, param.default)
        if value is inspect.Parameter.empty:
            raise InputError(400, f"A value is not provided for the {param.name!r} parameter.")
        kwargs[param.name] = value
    return kwargs
