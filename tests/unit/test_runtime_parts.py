"""Pure parts of the runtime: compat objects, forms, input modes, swagger, loader, settings."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from switchman.errors import BadArgumentError
from switchman.runtime import compat
from switchman.runtime.compat import AMLRequest, AMLResponse
from switchman.runtime.datastructures import Headers
from switchman.runtime.forms import parse_form, parse_options_header
from switchman.runtime.inputs import InputError, MethodNotScored, build_kwargs, query_parameters
from switchman.runtime.loader import (
    InputMode,
    StartupError,
    UserScript,
    load_script,
    model_dir_listing,
    run_init,
)
from switchman.runtime.outputs import result_reply
from switchman.runtime.settings import RuntimeSettings
from switchman.runtime.swagger import SwaggerDocs, SwaggerError
from switchman.runtime.wire import HttpRequest


def _script(
    mode: InputMode, params: tuple[str, ...] = ("data",), headers: bool = False
) -> UserScript:
    sig = [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params]
    return UserScript(
        path="x.py",
        module=compat,
        init=lambda: None,
        run=lambda **k: k,
        mode=mode,
        data_param=params[0],
        schema_params=sig,
        wants_headers=headers,
    )


def _request(
    method: str = "POST", body: bytes = b"", query: bytes = b"", ct: str | None = None
) -> HttpRequest:
    headers = [("content-type", ct)] if ct else []
    return HttpRequest(method, "/score", query, headers, body)


def test_aml_response_shapes() -> None:
    r = AMLResponse("hi", 201, {"X-A": "1, 2"})
    assert r.status_code == 201 and r.get_data() == b"hi"
    assert r.headers.getlist("X-A") == ["1", "2"]
    assert r.headers["x-ms-run-function-failed"] == "False"
    assert r.content_type == "text/html; charset=utf-8"
    assert AMLResponse(None, 200).get_data() == b"{}"
    j = AMLResponse({"a": 1}, 200, json_str=True, run_function_failed=True)
    assert (j.mimetype, j.json, j.headers["x-ms-run-function-failed"]) == (
        "application/json",
        {"a": 1},
        "True",
    )
    ct = AMLResponse(b"\x00", 200, {"Content-Type": "image/png"})
    assert ct.headers.getlist("content-type") == ["image/png"]
    ct.mimetype = "image/jpg"
    assert ct.content_type == "image/jpg"
    streamed = AMLResponse((c for c in ["a", b"b"]), 200)
    assert streamed.is_streamed and b"".join(streamed.iter_encoded()) == b"ab"


def test_result_reply_forces_run_failed_on_5xx() -> None:
    reply = result_reply(AMLResponse("x", 502), 1.5)
    assert ("x-ms-run-function-failed", "True") in reply.headers
    assert ("x-ms-run-fn-exec-ms", "1.500") in reply.headers
    assert result_reply("plain", 0.0).body == b'"plain"'
    with pytest.raises(TypeError):
        result_reply(object(), 0.0)


def test_aml_request_surface() -> None:
    req = AMLRequest(
        "POST",
        "/score",
        b"a=1&a=2",
        Headers({"Content-Type": "application/json", "Host": "h:1"}),
        b'{"k": 2}',
    )
    assert req.args.getlist("a") == ["1", "2"] and req.args["a"] == "1"
    assert req.get_json() == {"k": 2} and req.json == {"k": 2} and req.data == b'{"k": 2}'
    assert req.full_path == "/score?a=1&a=2" and req.url == "http://h:1/score?a=1&a=2"
    assert req.headers.get("content-type") == "application/json"
    plain = AMLRequest("POST", body=b"x", headers=Headers({"Content-Type": "text/plain"}))
    assert plain.get_json(silent=True) is None
    with pytest.raises(ValueError):
        plain.get_json()


def test_multipart_and_urlencoded_forms() -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a;b.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\x00\x01\r\n\r\n--XyZ--\r\n"
    )
    form, files = parse_form(body, "multipart/form-data; boundary=XyZ")
    assert form["note"] == "hello"
    assert files["file"].filename == "a;b.bin" and files["file"].read() == b"\x00\x01\r\n"
    form, files = parse_form(b"a=1&b=", "application/x-www-form-urlencoded")
    assert form.to_dict() == {"a": "1", "b": ""} and not files
    assert parse_options_header('text/plain; charset="utf-8"') == (
        "text/plain",
        {"charset": "utf-8"},
    )


def test_query_parameters() -> None:
    assert query_parameters(b"a=1&b=[1,2]&c=a&d=null&c=z") == {
        "a": 1,
        "b": [1, 2],
        "c": ["a", "z"],
        "d": None,
    }


def test_string_mode_inputs() -> None:
    script = _script(InputMode.STRING)
    assert build_kwargs(script, _request(body=b"abc")) == {"data": "abc"}
    assert build_kwargs(script, _request("GET", query=b"x=1")) == {"data": '{"x": 1}'}
    with pytest.raises(InputError, match="Input cannot be decoded as UTF-8"):
        build_kwargs(script, _request(body=b"\xff"))
    with pytest.raises(MethodNotScored):
        build_kwargs(script, _request("OPTIONS"))
    with_headers = _script(InputMode.STRING, headers=True)
    req = HttpRequest("POST", "/score", b"", [("x-custom-thing", "1")], b"")
    assert build_kwargs(with_headers, req)["request_headers"] == {"X-Custom-Thing": "1"}


@pytest.mark.parametrize(
    ("body", "ct", "status", "message"),
    [
        (b"{}", None, 415, "Expects Content-Type to be application/json"),
        (b"", "application/json", 400, "POST body is empty. Expecting a JSON dictionary."),
        (b"[]", "application/json", 400, "POST body should be a JSON dictionary."),
        (b'{"b": 1}', "application/json", 400, "A value is not provided for the 'a' parameter."),
    ],
)
def test_schema_mode_errors(body: bytes, ct: str | None, status: int, message: str) -> None:
    with pytest.raises(InputError) as info:
        build_kwargs(_script(InputMode.SCHEMA, ("a",)), _request(body=body, ct=ct))
    assert (info.value.status, info.value.message) == (status, message)


def test_swagger_undecorated_and_invalid(tmp_path: Path) -> None:
    def run(data: str) -> str:
        return data

    docs = SwaggerDocs(str(tmp_path), run, service_name="svc", path_prefix="/api/")
    assert docs.supported == ["2", "3", "3.1"]
    assert b'"/api/score"' in docs.get("2.0") and b'"title": "svc"' in docs.get("3")
    with pytest.raises(SwaggerError, match=r"Swagger version \[9\] is not valid"):
        docs.get("9")


def test_loader_errors_and_listing(tmp_path: Path) -> None:
    bad_sig = tmp_path / "sig.py"
    bad_sig.write_text("def init(): pass\ndef run(*args): pass\n")
    with pytest.raises(StartupError) as info:
        load_script(str(bad_sig), str(tmp_path))
    assert info.value.code == "UserScriptFunctionNotFound" and "*args" in info.value.message
    with pytest.raises(StartupError) as info:
        load_script(str(tmp_path / "missing.py"), str(tmp_path))
    assert info.value.code == "UserScriptImportError"
    failing = tmp_path / "f.py"
    failing.write_text("def init():\n    raise RuntimeError('nope')\ndef run(d): return d\n")
    script = load_script(str(failing), str(tmp_path))
    assert script.mode is InputMode.STRING
    with pytest.raises(StartupError) as info:
        run_init(script)
    assert (info.value.code, info.value.message) == ("UserScriptInitFailed", "RuntimeError: nope")
    (tmp_path / "m" / "sub").mkdir(parents=True)
    for i in range(300):
        (tmp_path / "m" / "sub" / f"f{i:03d}").write_text("")
    listing = model_dir_listing(str(tmp_path / "m"))
    assert listing[:3] == ["m/", "    sub/", "        f000"] and len(listing) == 200
    assert model_dir_listing("") == []


def test_settings_validation() -> None:
    s = RuntimeSettings.from_env(
        {"WORKER_COUNT": "3", "SERVER_VERSION_LOG_RESPONSE_ENABLED": "false"}
    )
    assert (
        s.worker_count == 3
        and s.server_version_header is None
        and s.scoring_timeout_ms == 3_600_000
    )
    with pytest.raises(BadArgumentError, match="WORKER_COUNT"):
        RuntimeSettings.from_env({"WORKER_COUNT": "zero"})
    with pytest.raises(BadArgumentError, match="SCORING_TIMEOUT_MS=0"):
        RuntimeSettings.from_env({"SCORING_TIMEOUT_MS": "0"})
