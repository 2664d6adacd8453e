"""The instance runtime as a real process on 127.0.0.1: azmlinfsrv 1.5.1 parity."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.proc import free_port, start_process, stop_process, wait_for
from tests.support.runtime import REPO, SCRIPTS, running_runtime, runtime_env

pytestmark = pytest.mark.integration

RUN_ERROR = "An unexpected error occurred in scoring script. Check the logs for more info."
INTERNAL_ERROR = "An unexpected internal error occurred. Check the logs for more info."


def test_plain_run_post_get_health_and_headers(tmp_path: Path) -> None:
    with running_runtime(SCRIPTS / "echo_score.py", tmp_path) as rt:
        health = httpx.get(rt.url + "/")
        assert (health.status_code, health.text) == (200, "Healthy")

        r = httpx.post(rt.url + "/score", content=b'{"a": 1}', headers={"x-request-id": "rid-1"})
        assert r.status_code == 200
        assert r.json() == {"echo": {"a": 1}, "ready": True}
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-request-id"] == "rid-1"
        assert r.headers["x-ms-request-id"] == "rid-1"
        assert r.headers["x-ms-run-function-failed"] == "False"
        assert r.headers["x-ms-server-version"] == "azmlinfsrv/1.5.1"
        assert float(r.headers["x-ms-run-fn-exec-ms"]) >= 0

        # GET: query string → JSON string (values JSON-parsed, repeated keys → list)
        r = httpx.get(rt.url + "/score?a=1&b=x&b=[2]&c=null")
        assert r.json()["echo"] == {"a": 1, "b": ["x", [2]], "c": None}
        assert len(r.headers["x-request-id"]) == 36  # generated uuid4

        bad = httpx.post(rt.url + "/score", content=b"\xff\xfe")
        assert bad.status_code == 400
        assert bad.json()["message"].startswith("Input cannot be decoded as UTF-8: ")

        assert httpx.options(rt.url + "/score").status_code == 200
        assert httpx.options(rt.url + "/score").content == b""
        put = httpx.put(rt.url + "/score", content=b"x")
        assert put.status_code == 405 and "message" in put.json()
        missing = httpx.get(rt.url + "/nope")
        assert missing.status_code == 404 and "not found" in missing.json()["message"]

        # header rules (§10.5)
        long_id = httpx.post(rt.url + "/score", content=b"{}", headers={"x-request-id": "x" * 101})
        assert long_id.status_code == 431
        assert long_id.json() == {"message": "x-request-id must not exceed 100 characters"}
        r = httpx.post(
            rt.url + "/score",
            content=b"{}",
            headers={"x-ms-client-request-id": "client-7", "TraceId": "t-1"},
        )
        assert r.headers["x-ms-client-request-id"] == "client-7"
        assert r.headers["x-ms-request-id"] == "client-7"
        assert r.headers["traceid"] == "t-1"
        r = httpx.post(rt.url + "/score", content=b"{}", headers={"x-ms-request-id": "legacy"})
        assert r.headers["x-ms-client-request-id"] == "legacy"
        too_long = httpx.post(
            rt.url + "/score", content=b"{}", headers={"x-ms-request-id": "y" * 101}
        )
        assert too_long.status_code == 431

        # access lines in the azmlinfsrv log format, health probes not logged
        wait_for(lambda: "POST /score 200 " in rt.text(), what="access line")
        line = next(x for x in rt.text().splitlines() if "POST /score 200 " in x)
        assert " I [" in line and "] azmlinfsrv - POST /score 200 " in line
        assert "GET / " not in rt.text()


def test_compat_contrib_rawhttp(tmp_path: Path) -> None:
    with running_runtime(SCRIPTS / "contrib_raw_score.py", tmp_path) as rt:
        blob = bytes(range(256)) * 4
        r = httpx.post(rt.url + "/score?mode=echo", content=blob)
        assert r.content == blob
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["x-echo-method"] == "POST"
        assert r.headers["x-ms-run-function-failed"] == "False"

        info = httpx.post(
            rt.url + "/score?mode=info&x=1&x=2",
            json={"k": "v"},
            headers={"X-Custom": "yes"},
        ).json()
        assert info["method"] == "POST"
        assert info["path"] == "/score"
        assert info["full_path"] == "/score?mode=info&x=1&x=2"
        assert info["url"].endswith("/score?mode=info&x=1&x=2")
        assert info["args"]["x"] == ["1", "2"]
        assert info["json"] == {"k": "v"}
        assert info["header"] == "yes"
        assert httpx.get(rt.url + "/score?mode=info").json()["method"] == "GET"
        assert httpx.options(rt.url + "/score?mode=info").json()["method"] == "OPTIONS"
        assert httpx.delete(rt.url + "/score?mode=info").status_code == 405

        r = httpx.get(rt.url + "/score?mode=headers")
        assert r.status_code == 201 and r.text == "ok"
        assert r.headers.get_list("x-multi") == ["a", "b", "c"]
        assert r.headers["content-type"] == "text/plain"
        r = httpx.get(rt.url + "/score?mode=json")
        assert (r.status_code, r.json()) == (202, {"k": [1, 2]})
        assert httpx.get(rt.url + "/score?mode=none").json() == {}
        r = httpx.get(rt.url + "/score?mode=fail")
        assert r.status_code == 503 and r.headers["x-ms-run-function-failed"] == "True"
        with httpx.stream("GET", rt.url + "/score?mode=stream") as s:
            assert s.headers["transfer-encoding"] == "chunked"
            assert b"".join(s.iter_bytes()) == b"chunk0;chunk1;chunk2;chunk3;chunk4;"
        # the connection stays usable after a streamed reply
        with httpx.Client() as client:
            for _ in range(3):
                assert client.get(rt.url + "/score?mode=stream").text.endswith("chunk4;")


def test_compat_server_api_multipart(tmp_path: Path) -> None:
    with running_runtime(SCRIPTS / "server_api_score.py", tmp_path) as rt:
        files = [("file[]", ("a.bin", b"\x00" * 10)), ("file[]", ("b.jpg", b"\x01" * 300))]
        r = httpx.post(rt.url + "/score", files=files, data={"note": "hi"})
        assert r.json() == {
            "response": [{"filename": "a.bin", "size": 10}, {"filename": "b.jpg", "size": 300}],
            "form": {"note": "hi"},
        }
        r = httpx.post(rt.url + "/score?single=1", files={"file": ("x.jpg", b"abc\xff")})
        assert r.content == b"\xffcba"
        assert r.headers["content-type"] == "image/jpg"
        assert httpx.post(rt.url + "/score?single=1", content=b"").status_code == 422


def test_request_headers_parameter(tmp_path: Path) -> None:
    with running_runtime(SCRIPTS / "headers_score.py", tmp_path) as rt:
        r = httpx.post(rt.url + "/score", content=b"hello", headers={"x-custom": "v"})
        body = r.json()
        assert body["data"] == "hello"
        assert body["custom"] == "v"
        assert "Content-Length" in body["names"] and "X-Custom" in body["names"]


def test_run_errors(tmp_path: Path) -> None:
    with running_runtime(SCRIPTS / "raising_score.py", tmp_path) as rt:
        r = httpx.post(rt.url + "/score", content=b"{}")
        assert r.status_code == 500
        assert r.json() == {"message": RUN_ERROR}
        assert r.headers["x-ms-run-function-failed"] == "True"
        r = httpx.post(rt.url + "/score", content=b'{"kind": "unserialisable"}')
        assert r.status_code == 500 and r.json() == {"message": INTERNAL_ERROR}
        assert httpx.post(rt.url + "/score", content=b'{"kind": "text"}').text == '"plain"'
        wait_for(lambda: "ValueError: scoring exploded" in rt.text(), what="traceback in log")
        assert "Encountered Exception: Traceback" in rt.text()


@pytest.mark.parametrize(
    ("script", "code", "message"),
    [
        ("init_fails_score.py", "UserScriptInitFailed", "ValueError: bad model path"),
        (
            "import_error_score.py",
            "UserScriptImportError",
            "ModuleNotFoundError: No module named 'switchman_no_such_module_for_tests'",
        ),
        ("no_run_score.py", "UserScriptFunctionNotFound", "does not have a run() function defined"),
    ],
)
def test_startup_failures(tmp_path: Path, script: str, code: str, message: str) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"0")
    port = free_port()
    proc = subprocess.run(
        [sys.executable, "-m", "switchman.runtime", "--host", "127.0.0.1", "--port", str(port)],
        env=runtime_env(SCRIPTS / script, tmp_path),
        capture_output=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 3, proc.stderr.decode()
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["code"] == code
    assert message in status["message"]
    assert status["model_dir_listing"] == ["model/", "    weights.bin"]
    if code != "UserScriptFunctionNotFound":
        assert "Traceback (most recent call last)" in status["traceback"]
        assert "Traceback (most recent call last)" in proc.stderr.decode()
    if code == "UserScriptInitFailed":
        assert 'raise ValueError("bad model path")' in status["traceback"]
        assert "User's init function failed" in proc.stdout.decode()


def test_schema_decorated_inputs_and_swagger(tmp_path: Path) -> None:
    with running_runtime(SCRIPTS / "schema_score.py", tmp_path) as rt:
        r = httpx.post(rt.url + "/score", json={"data": [[1, 2, 3]], "scale": 2})
        assert r.json() == {"sum": 12.0, "type": "ndarray"}
        r = httpx.post(rt.url + "/score", content=b'{"data": [[1,2,3]]}')
        assert (r.status_code, r.json()) == (
            415,
            {"message": "Expects Content-Type to be application/json"},
        )
        ct = {"Content-Type": "application/json"}
        cases = [
            (b"", "POST body is empty. Expecting a JSON dictionary."),
            (b"[1]", "POST body should be a JSON dictionary."),
            (b'{"scale": 1}', "A value is not provided for the 'data' parameter."),
        ]
        for body, message in cases:
            r = httpx.post(rt.url + "/score", content=body, headers=ct)
            assert (r.status_code, r.json()) == (400, {"message": message})
        r = httpx.post(rt.url + "/score", content=b"{oops", headers=ct)
        assert r.status_code == 400
        assert r.json()["message"].startswith("POST body could not be decoded as JSON: ")
        assert httpx.get(rt.url + "/score?data=[[1,1,1]]&scale=3").json()["sum"] == 9.0

        v2 = httpx.get(rt.url + "/swagger.json").json()
        assert v2["swagger"] == "2.0"
        assert v2["definitions"]["ServiceInput"]["properties"]["data"]["type"] == "array"
        assert v2["paths"]["/score"]["post"]["operationId"] == "RunMLService"
        assert httpx.get(rt.url + "/swagger.json?version=2.0").json() == v2
        v3 = httpx.get(rt.url + "/swagger.json?version=3").json()
        assert v3["openapi"] == "3.0.3" and "ServiceOutput" in v3["components"]["schemas"]
        assert httpx.get(rt.url + "/swagger.json?version=3.0").json() == v3
        assert httpx.get(rt.url + "/swagger.json?version=3.1").json()["openapi"] == "3.1.0"
        bad = httpx.get(rt.url + "/swagger.json?version=7")
        assert bad.status_code == 404
        assert bad.json()["message"] == (
            "Swagger version [7] is not valid. Supported versions: [2, 3, 3.1]."
        )


def test_user_swagger_file(tmp_path: Path) -> None:
    with running_runtime(SCRIPTS / "custom_swagger" / "score.py", tmp_path) as rt:
        assert httpx.get(rt.url + "/swagger.json?version=2").json()["info"]["title"] == "custom"
        v3 = httpx.get(rt.url + "/swagger.json?version=3").json()
        assert v3["components"]["schemas"]["ServiceInput"] == {"type": "object", "example": {}}


def test_async_run(tmp_path: Path) -> None:
    with running_runtime(SCRIPTS / "async_score.py", tmp_path) as rt:
        body = httpx.post(rt.url + "/score", content=b"x").json()
        assert body["async"] is True and body["data"] == "x"
        assert body["thread"] == "user-code-loop"


def test_worker_count_limits_concurrency(tmp_path: Path) -> None:
    with running_runtime(SCRIPTS / "concurrency_score.py", tmp_path, WORKER_COUNT="2") as rt:
        peaks: list[int] = []

        def call() -> None:
            r = httpx.post(rt.url + "/score", content=b'{"sleep": 0.1}', timeout=10)
            peaks.append(r.json()["peak"])

        threads = [threading.Thread(target=call) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        assert len(peaks) == 6
        assert max(peaks) == 2  # both workers were used, never a third


def test_scoring_timeout(tmp_path: Path) -> None:
    with running_runtime(SCRIPTS / "slow_score.py", tmp_path, SCORING_TIMEOUT_MS="200") as rt:
        t0 = time.monotonic()
        r = httpx.post(rt.url + "/score", content=b'{"sleep": 1.5}', timeout=10)
        assert time.monotonic() - t0 < 1.4
        assert (r.status_code, r.json()) == (500, {"message": "Scoring timeout after 200 ms"})
        assert r.headers["x-ms-run-function-failed"] == "True"
        assert httpx.post(rt.url + "/score", content=b'{"sleep": 0}', timeout=10).status_code == 200


def test_sigterm_drains_in_flight(tmp_path: Path) -> None:
    with running_runtime(SCRIPTS / "slow_score.py", tmp_path) as rt:
        result: dict[str, httpx.Response] = {}

        def call() -> None:
            result["r"] = httpx.post(rt.url + "/score", content=b'{"sleep": 0.6}', timeout=10)

        t = threading.Thread(target=call)
        t.start()
        wait_for(lambda: "slow run started" in rt.text(), timeout=5, what="run() to start")
        rt.proc.send_signal(signal.SIGTERM)
        t.join(10)
        assert result["r"].status_code == 200 and result["r"].json() == {"slept": 0.6}
        assert rt.proc.wait(10) == 0
        assert "Shutdown complete" in rt.text()


def test_sample_equivalents_with_sklearn_model(tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    linear = pytest.importorskip("sklearn.linear_model")
    model_dir = tmp_path / "model"
    (model_dir / "model").mkdir(parents=True)
    x = [[i + j for j in range(10)] for i in range(20)]
    y = [sum(row) for row in x]
    model = linear.LinearRegression().fit(x, y)
    joblib.dump(model, model_dir / "sklearn_regression_model.pkl")
    joblib.dump(model, model_dir / "model" / "sklearn_regression_model.pkl")
    with running_runtime(SCRIPTS / "model_score.py", tmp_path) as rt:
        r = httpx.post(rt.url + "/score", json={"data": [list(range(10))]})
        assert r.status_code == 200 and r.json()[0] == pytest.approx(45.0)
    with running_runtime(SCRIPTS / "openapi_score.py", tmp_path) as rt:
        r = httpx.post(rt.url + "/score", json={"data": [list(range(1, 11))]})
        assert r.json()["output"][0] == pytest.approx(55.0)
        schema = httpx.get(rt.url + "/swagger.json?version=3").json()["components"]["schemas"]
        assert schema["ServiceOutput"]["example"] == {"output": [1.0, 1.0]}


def test_scoring_server_command(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "cli.log"
    with open(log, "wb") as fh:
        proc = start_process(
            [
                sys.executable,
                "-m",
                "switchman",
                "scoring-server",
                "--entry_script",
                str(SCRIPTS / "echo_score.py"),
                "--model-dir",
                str(tmp_path),
                "--port",
                str(port),
                "--worker_count",
                "2",
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=str(REPO),
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(url + "/", timeout=1).status_code == 200, what="scoring-server")
        assert httpx.post(url + "/score", content=b"[1]").json()["echo"] == [1]
        wait_for(lambda: "POST /score 200" in log.read_text(), what="access line")
        text = log.read_text()
        assert "Azure ML Inferencing HTTP server v1.5.1" in text
        assert "Server Settings" in text and "Worker Count: 2" in text
        assert f"Score:          POST  127.0.0.1:{port}/score" in text
    finally:
        stop_process(proc)
    failed = subprocess.run(
        [
            sys.executable,
            "-m",
            "switchman",
            "scoring-server",
            "--entry-script",
            str(SCRIPTS / "init_fails_score.py"),
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        timeout=60,
        cwd=str(REPO),
        check=False,
    )
    assert failed.returncode == 3
    assert "ValueError: bad model path" in failed.stderr.decode()
    assert 'raise ValueError("bad model path")' in failed.stderr.decode()
