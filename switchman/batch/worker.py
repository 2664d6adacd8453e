"""The batch worker process: ``python -m switchman.batch.worker WORKER_DIR/worker.json``.

Started by a compute backend (``ComputeBackend.start_worker``). It stages the model and code into
its folder, prepares the deployment's interpreter (``switchman.environments.prepare``, as the
instance launcher does) and re-execs into it; then it imports the scoring script, calls ``init()``
once and loops: lease a mini-batch from the control plane, ``run(mini_batch)``, report the result.

The exchange is HTTP on the control plane's ``/batch-worker`` routes with the job's own token
(never the admin token), so a worker on another node needs nothing but the URL: input files it
cannot see locally it downloads from the control plane. stdout/stderr are the worker folder's
``stdout.txt`` / ``stderr.txt`` (the user's prints land there).
"""

from __future__ import annotations

import http.client
import importlib
import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlsplit

EXIT_INIT_FAILED = 3
EXIT_BUILD_FAILED = 4
EXIT_LOST = 5
# How long a worker keeps trying to reach a control plane that went away (restarts take seconds).
CONTROL_PLANE_PATIENCE_S = 300.0


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    print(f"{stamp} batch-worker - {message}", file=sys.stderr, flush=True)


class Link:
    """The worker's HTTP link to the control plane: keep-alive, retried while it restarts."""

    def __init__(
        self, api_url: str, token: str, home: str | None, ca_file: str | None = None
    ) -> None:
        self.api_url = api_url
        self.token = token
        self.home = home
        self.ca_file = ca_file
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._conn is None:
            parts = urlsplit(self.api_url)
            if parts.scheme == "https":  # `switchman up --tls --api-tls`: trust the home's CA
                import ssl

                self._conn = http.client.HTTPSConnection(
                    parts.hostname or "127.0.0.1",
                    parts.port or 443,
                    timeout=60.0,
                    context=ssl.create_default_context(cafile=self.ca_file),
                )
            else:
                self._conn = http.client.HTTPConnection(
                    parts.hostname or "127.0.0.1", parts.port or 80, timeout=60.0
                )
        return self._conn

    def _rediscover(self) -> None:
        # A control plane restarted on another port: a local worker finds it in server.json.
        if not self.home:
            return
        try:
            server = json.loads((Path(self.home) / "server.json").read_text())
        except (OSError, ValueError):
            return
        url = server.get("api_url") if isinstance(server, dict) else None
        if isinstance(url, str) and url != self.api_url:
            self.api_url = url
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One request; connection failures are retried until CONTROL_PLANE_PATIENCE_S passes."""
        deadline = time.monotonic() + CONTROL_PLANE_PATIENCE_S
        delay = 0.05
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        while True:
            try:
                conn = self._connect()
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                if response.status >= 500:
                    raise ConnectionError(f"HTTP {response.status}: {raw[:200]!r}")
                answer = json.loads(raw) if raw else None
                if response.status >= 400:
                    return {"stop": True, "reason": answer}
                return answer
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self.close()
                if time.monotonic() > deadline:
                    _log(f"control plane unreachable for {CONTROL_PLANE_PATIENCE_S:.0f}s: {exc}")
                    raise SystemExit(EXIT_LOST) from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
                self._rediscover()

    def fetch(self, path: str, target: Path) -> None:
        """Download one input file the worker cannot see on its own disk."""
        conn = self._connect()
        conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
        response = conn.getresponse()
        raw = response.read()
        if response.status != 200:
            raise FileNotFoundError(
                f"input file {path} could not be fetched: HTTP {response.status}"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(raw)
        tmp.replace(target)


def rows_of(result: Any) -> tuple[list[str], int]:
    """A run() result as output lines and the number of successful items (reference §4.4).

    A list gives one line per element (strings verbatim, other objects stringified); a DataFrame
    gives CSV lines without header or index, columns as returned.
    """
    if result is None:
        return [], 0
    if hasattr(result, "to_csv") and hasattr(result, "columns"):
        text = str(result.to_csv(header=False, index=False, lineterminator="\n"))
        lines = text.splitlines()
        return lines, len(result)
    if isinstance(result, str | bytes):
        result = [result]
    items = list(result)
    lines = []
    for item in items:
        text = item.decode(errors="replace") if isinstance(item, bytes) else str(item)
        lines.append(text.replace("\r\n", "\n").replace("\n", " "))
    return lines, len(items)


def load_module(script: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("batch_driver_module", script)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {script} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules["batch_driver_module"] = module
    spec.loader.exec_module(module)
    return module


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _prepare(spec_path: Path, spec: dict[str, Any]) -> None:
    """Stage model and code, prepare the interpreter, re-exec into it (never returns on success)."""
    from switchman.compute.launcher import stage_code, stage_model

    folder = spec_path.parent
    config = spec["config"]
    model_dir = stage_model(folder, config.get("model"))
    app_root, script = stage_code(folder, config.get("code"))
    from switchman.environments import EnvironmentBuildError, prepare, runtime_pythonpath
    from switchman.home import Home

    variables = dict(config.get("environment_variables") or {})
    try:
        python = prepare(
            config.get("environment"),
            home=Home(Path(spec["home"])),
            log=sys.stderr,
            mode=variables.get("SWITCHMAN_ENVIRONMENT_MODE"),
        )
    except EnvironmentBuildError as exc:
        _log(f"environment build failed: {exc.message}")
        Link(config["api_url"], config["token"], spec.get("home")).call(
            "POST",
            _worker_path(spec, "init-failed"),
            {"code": exc.code, "message": exc.message, "traceback": ""},
        )
        raise SystemExit(EXIT_BUILD_FAILED) from None
    env = dict(os.environ)
    env["PYTHONPATH"] = str(runtime_pythonpath(Home(Path(spec["home"]))))
    env["PYTHONUNBUFFERED"] = "1"
    env["AZUREML_MODEL_DIR"] = str(model_dir)
    env["SWITCHMAN_BATCH_SCRIPT"] = str(script) if script else ""
    env["SWITCHMAN_BATCH_APP_ROOT"] = str(app_root) if app_root else ""
    env.update(variables)
    os.execve(
        str(python),
        [str(python), "-m", "switchman.batch.worker", "--prepared", str(spec_path)],
        env,
    )


def _worker_path(spec: dict[str, Any], what: str) -> str:
    return f"/batch-worker/jobs/{quote(spec['job'])}/workers/{quote(spec['worker_id'])}/{what}"


def _serve(spec: dict[str, Any]) -> None:
    config = spec["config"]
    link = Link(config["api_url"], config["token"], spec.get("home"), config.get("ca_file"))
    os.environ["AZUREML_BI_OUTPUT_PATH"] = str(config.get("output_dir") or "")
    script = os.environ.get("SWITCHMAN_BATCH_SCRIPT") or ""
    app_root = os.environ.get("SWITCHMAN_BATCH_APP_ROOT") or ""
    sys.argv = ["batch_driver", "--logging_level", str(config.get("logging_level", "info"))]
    try:
        if script:
            sys.path.insert(0, str(Path(script).parent))
            if app_root:
                sys.path.insert(1, app_root)
            os.chdir(Path(script).parent)
            module = load_module(Path(script))
        else:
            module = importlib.import_module(str(config["scorer"]))
        init, run = getattr(module, "init", None), getattr(module, "run", None)
        if not callable(run):
            raise AttributeError(
                f"the scoring script {script or config['scorer']} has no run() function"
            )
        if callable(init):
            init()
    except BaseException as exc:
        trace = traceback.format_exc()
        print(trace, file=sys.stderr, flush=True)
        link.call(
            "POST",
            _worker_path(spec, "init-failed"),
            {"code": "UserScriptInitFailed", "message": _describe(exc), "traceback": trace},
        )
        raise SystemExit(EXIT_INIT_FAILED) from None
    link.call("POST", _worker_path(spec, "ready"), {"pid": os.getpid()})
    cache = Path(spec["worker_dir"]) / "inputs"
    answer = link.call("POST", _worker_path(spec, "lease"), {})
    while True:
        if not isinstance(answer, dict) or answer.get("stop"):
            return
        lease = answer.get("minibatch")
        if not lease:
            time.sleep(float(answer.get("wait", 0.2)))
            answer = link.call("POST", _worker_path(spec, "lease"), {})
            continue
        started = time.time()
        try:
            files = _local_files(link, lease, cache)
            result = run(files)
            lines, items = rows_of(result)
            report: dict[str, Any] = {
                "attempt": lease["attempt"],
                "ok": True,
                "rows": lines,
                "items": items,
            }
        except BaseException as exc:  # the user's run() failing fails this mini-batch only
            if isinstance(exc, KeyboardInterrupt):
                raise
            trace = traceback.format_exc()
            print(trace, file=sys.stderr, flush=True)
            report = {
                "attempt": lease["attempt"],
                "ok": False,
                "error": _describe(exc),
                "traceback": trace,
            }
        report["started"] = started
        report["ended"] = time.time()
        path = f"/batch-worker/jobs/{quote(spec['job'])}/minibatches/{lease['index']}/result"
        # The answer to a result is the next lease: one round trip per mini-batch.
        answer = link.call("POST", path, {"worker_id": spec["worker_id"], **report})


def _local_files(link: Link, lease: dict[str, Any], cache: Path) -> list[str]:
    out: list[str] = []
    for entry in lease["files"]:
        path = Path(entry["path"])
        if not path.exists() and entry.get("url"):
            path = cache / str(lease["index"]) / entry["relative"]
            if not path.exists():
                link.fetch(entry["url"], path)
        out.append(str(path))
    return out


def main(argv: list[str]) -> None:
    prepared = bool(argv) and argv[0] == "--prepared"
    args = argv[1:] if prepared else argv
    if len(args) != 1:
        print("usage: python -m switchman.batch.worker WORKER_DIR/worker.json", file=sys.stderr)
        raise SystemExit(2)
    spec_path = Path(args[0]).resolve()
    spec = json.loads(spec_path.read_text())
    if not prepared:
        _log(f"worker {spec['worker_id']} of job {spec['job']} on {spec['node']} preparing")
        _prepare(spec_path, spec)
    _serve(spec)


if __name__ == "__main__":
    main(sys.argv[1:])
