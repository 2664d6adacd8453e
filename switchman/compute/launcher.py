"""The instance launcher: the storage-initializer step, then the instance runtime in the same pid.

Run as ``python -m switchman.compute.launcher INSTANCE_DIR/instance.json`` with stdout/stderr going
to the storage-initializer log. It stages the model (a symlink to the uploaded snapshot, laid out as
Azure ML's ``azureml-models/<name>/<version>``) and a private copy of the code, prepares the Python
environment, then points stdout/stderr at the inference-server log and ``exec``s the runtime — so the
pid the compute backend recorded is the instance's pid for its whole life.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

from switchman.compute.backend import ADDRESS_FILE, CONTAINER_LOGS, LAUNCH_FILE, STATUS_FILE
from switchman.compute.fetch import ArtifactError, fetch
from switchman.home import Home

EXIT_STARTUP_FAILURE = 3
EXIT_BUILD_FAILURE = 4


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    print(f"{stamp} storage-initializer - {message}", flush=True)


def _isolate(folder: Path, instance_id: str) -> str:
    """Enter the instance's own network namespace; the runtime's bind address (a Unix socket)."""
    from switchman.compute.isolation import IsolationError, isolate, socket_path

    path = socket_path(folder, instance_id)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    try:
        isolate()
    except IsolationError as exc:
        print(f"Network isolation failed: {exc}", flush=True)  # inference-server.log
        _write_status(folder, exc.code, str(exc))
        raise SystemExit(EXIT_STARTUP_FAILURE) from None
    print("Network isolation: own network namespace, loopback only", flush=True)
    return f"unix:{path}"


def _write_status(folder: Path, code: str, message: str) -> None:
    (folder / STATUS_FILE).write_text(
        json.dumps({"code": code, "message": message, "traceback": traceback.format_exc()})
    )


def stage_model(folder: Path, model: dict[str, Any] | None) -> Path:
    """Lay the model out as ``azureml-models/<name>/<version>`` → the uploaded snapshot."""
    root = folder / "azureml-models"
    if not model:
        root.mkdir(exist_ok=True)
        return root
    target = root / str(model["name"]) / str(model["version"])
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    target.symlink_to(model["asset"], target_is_directory=True)
    _log(f"Model {model['name']}:{model['version']} staged at {target}")
    return target


def stage_code(folder: Path, code: dict[str, Any] | None) -> tuple[Path | None, Path | None]:
    """Copy the code snapshot into the instance (scripts may write beside themselves)."""
    if not code:
        return None, None
    source = Path(code["asset"])
    inner = next(iter(sorted(source.iterdir())), None) if source.is_dir() else None
    if inner is None:
        raise FileNotFoundError(f"uploaded code snapshot {source} is empty")
    app = folder / "app" / inner.name
    if app.exists():
        shutil.rmtree(app)
    shutil.copytree(inner, app, symlinks=True)
    script = app / code["scoring_script"]
    _log(f"Code staged at {app}; scoring script {script}")
    return app, script


def download_artifacts(spec: dict[str, Any], home: Home) -> None:
    """A node that does not share the control plane's disk: code and model come over HTTP, by
    digest, into the node's cache; the spec then points at the cached copies."""
    cache = home.root / "artifacts"
    for kind in ("code", "model"):
        entry = spec.get(kind)
        if entry and entry.get("asset"):
            digest = Path(str(entry["asset"])).name
            entry["asset"] = str(fetch(digest, spec["artifacts"], cache, _log))


def main(argv: list[str]) -> NoReturn:
    if len(argv) != 1:
        print(
            "usage: python -m switchman.compute.launcher INSTANCE_DIR/instance.json",
            file=sys.stderr,
        )
        raise SystemExit(2)
    spec_path = Path(argv[0]).resolve()
    folder = spec_path.parent
    spec = json.loads(spec_path.read_text())
    home = Home(Path(spec["home"]))
    _log(f"Preparing instance {spec['instance_id']} of {spec['endpoint']}/{spec['deployment']}")
    try:
        if spec.get("artifacts"):
            download_artifacts(spec, home)
        model_dir = stage_model(folder, spec.get("model"))
        app_root, script = stage_code(folder, spec.get("code"))
    except ArtifactError as exc:
        _log(f"Download failed: {exc}")
        _write_status(folder, "ArtifactUnavailable", str(exc))
        raise SystemExit(EXIT_STARTUP_FAILURE) from None
    except OSError as exc:
        _log(f"Staging failed: {exc}")
        _write_status(folder, "BadArgument", f"Cannot stage model or code: {exc}")
        raise SystemExit(EXIT_STARTUP_FAILURE) from None

    from switchman.environments import EnvironmentBuildError, prepare, runtime_pythonpath

    env_vars: dict[str, str] = dict(spec.get("environment_variables") or {})
    try:
        python = prepare(
            spec.get("environment"),
            home=home,
            log=sys.stdout,
            mode=env_vars.get("SWITCHMAN_ENVIRONMENT_MODE"),
        )
    except EnvironmentBuildError as exc:
        _log(f"Environment build failed: {exc.message}")
        _write_status(folder, exc.code, exc.message)
        raise SystemExit(EXIT_BUILD_FAILURE) from None
    _log(f"Python environment: {python}")

    env = dict(os.environ)
    pythonpath = [str(runtime_pythonpath(home))]
    env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    env["PYTHONUNBUFFERED"] = "1"
    env["AZUREML_MODEL_DIR"] = str(model_dir)
    if script is not None:
        env["AML_APP_ROOT"] = str(script.parent)
        env["AZUREML_ENTRY_SCRIPT"] = str(script)
    elif app_root is not None:
        env["AML_APP_ROOT"] = str(app_root)
    model = spec.get("model") or {}
    if script is None and model.get("type") == "mlflow_model":
        # No scoring script: the runtime's built-in MLflow scorer loads this folder (issue 11).
        env["SWITCHMAN_MLFLOW_MODEL"] = str(model_dir / str(model.get("leaf") or ""))
    env["WORKER_COUNT"] = str(spec.get("worker_count") or 1)
    env["SWITCHMAN_STATUS_FILE"] = str(folder / STATUS_FILE)
    # The runtime binds a port of its own (0) and reports it here; the backend reads it back.
    env["SWITCHMAN_ADDRESS_FILE"] = str(folder / ADDRESS_FILE)
    env["SWITCHMAN_INSTANCE_ID"] = spec["instance_id"]
    env["SWITCHMAN_ENDPOINT"] = spec["endpoint"]
    env["SWITCHMAN_DEPLOYMENT"] = spec["deployment"]
    env.update(env_vars)  # the deployment's environment_variables win, as in Azure ML
    (folder / LAUNCH_FILE).write_text(json.dumps({"python": str(python)}))
    _log("Starting inference-server")
    sys.stdout.flush()
    sys.stderr.flush()

    log_fd = os.open(
        folder / CONTAINER_LOGS["inference-server"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
    )
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    cwd = str(script.parent if script is not None else folder)
    os.chdir(cwd)
    bind = str(spec.get("bind_host") or "127.0.0.1")
    if spec.get("egress_disabled"):
        bind = _isolate(folder, spec["instance_id"])  # after the build: it needed the network
    args = [str(python), "-m", "switchman.runtime", "--host", bind, "--port", "0"]
    os.execve(str(python), args, env)


if __name__ == "__main__":
    main(sys.argv[1:])
