"""MLflow no-code serving (issue 11): Switchman's full path against ``mlflow models serve``.

Same scikit-learn MLflow model (LinearRegression over 10 double columns, with a signature), same
body (``dataframe_split``, 2 rows — both servers accept it), same wrk settings, same run. Servers
are pinned to core 0 (the whole Switchman platform: router, control plane, instance), wrk to
core 1. ``mlflow models serve --env-manager local`` runs from a bench-only venv with the full
``mlflow`` package at the version of the platform's ``mlflow-skinny``.

Cold start: ``online-deployment create`` → ready with the environment already cached (the
platform's own interpreter satisfies the model's pins), against ``mlflow models serve`` process
start → ``/ping`` answering 200.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

from bench.load import LoadResult, pin, run_wrk
from bench.throughput import _venv
from tests.support.proc import free_port, start_process, stop_process, wait_for

COLUMNS = [f"f{i}" for i in range(10)]
ROWS = [[0.1 * i + j for i in range(10)] for j in range(2)]
C_HIGH, C_LOW = 64, 1
SECONDS_HIGH, SECONDS_LOW = 6, 4
ROUNDS = 2

_SAVE = textwrap.dedent(
    """
    import sys
    from importlib.metadata import version
    import mlflow.sklearn, numpy as np, pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression
    cols = [f"f{i}" for i in range(10)]
    X = pd.DataFrame(np.random.default_rng(0).random((50, 10)), columns=cols)
    y = X.to_numpy() @ np.arange(10.0)
    model = LinearRegression().fit(X, y)
    pins = [f"mlflow=={version('mlflow-skinny')}", f"scikit-learn=={version('scikit-learn')}",
            f"pandas=={version('pandas')}", f"cloudpickle=={version('cloudpickle')}"]
    mlflow.sklearn.save_model(model, sys.argv[1], serialization_format="cloudpickle",
                              signature=infer_signature(X, model.predict(X)),
                              input_example=X.head(2), pip_requirements=pins)
    """
)


def _save_model(target: Path) -> None:
    if (target / "MLmodel").exists():
        return
    subprocess.run([sys.executable, "-c", _SAVE, str(target)], check=True, capture_output=True)


def _measure(
    url: str, body: bytes, headers: dict[str, str], pids: list[int], workdir: Path
) -> tuple[LoadResult, LoadResult]:
    common = {"workdir": workdir, "server_pids": pids}
    run_wrk(url, body, headers, connections=C_HIGH, seconds=1, **common)  # warm-up
    high = run_wrk(url, body, headers, connections=C_HIGH, seconds=SECONDS_HIGH, **common)
    low = run_wrk(url, body, headers, connections=C_LOW, seconds=SECONDS_LOW, **common)
    return high, low


def _mlflow_serve(
    python: Path, model: Path, workdir: Path, body: bytes
) -> tuple[tuple[LoadResult, LoadResult], float]:
    port = free_port()
    cmd = [*pin(0), str(python.parent / "mlflow"), "models", "serve", "-m", str(model),
           "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"]  # fmt: skip
    # As in an activated venv: mlflow execs `uvicorn` from PATH.
    env = {
        **os.environ,
        "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": f"file://{workdir / 'mlruns'}",
    }
    out = (workdir / "mlflow-serve.log").open("wb")
    started = time.perf_counter()
    proc = start_process(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:

        def up() -> bool:
            if proc.poll() is not None:
                raise SystemExit(
                    f"bench: mlflow models serve exited; see {workdir / 'mlflow-serve.log'}"
                )
            return httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200

        wait_for(
            up,
            timeout=180,
            what="mlflow models serve ready",
        )
        start_s = time.perf_counter() - started
        url = f"http://127.0.0.1:{port}/invocations"
        check = httpx.post(
            url, content=body, headers={"Content-Type": "application/json"}, timeout=30
        )
        assert check.status_code == 200, check.text
        results = _measure(url, body, {"Content-Type": "application/json"}, [proc.pid], workdir)
    finally:
        stop_process(proc)
        out.close()
    return results, start_s


def _switchman(
    model: Path, workdir: Path, body: bytes
) -> tuple[tuple[LoadResult, LoadResult], list[float]]:
    home = Path(tempfile.mkdtemp(prefix="mlflow-home-", dir=workdir))
    env = {**os.environ, "SWITCHMAN_HOME": str(home)}
    cli = [sys.executable, "-m", "switchman"]

    def sm(*args: str) -> str:
        done = subprocess.run([*cli, *args], env=env, check=True, capture_output=True, text=True)
        return done.stdout

    # The whole platform (router, control plane, instances) inherits core 0 from `up`.
    subprocess.run(
        [*pin(0), *cli, "up", "--port", "0", "--api-port", "0"],
        env=env,
        check=True,
        capture_output=True,
    )
    try:
        sm("model", "create", "-n", "bench-sk", "-t", "mlflow_model", "-p", str(model))
        sm("online-endpoint", "create", "-n", "mlflow-bench")
        spec = home / "dep.yml"
        spec.write_text(
            "endpoint_name: mlflow-bench\nmodel: azureml:bench-sk@latest\n"
            "instance_type: Standard_DS3_v2\ninstance_count: 1\n"
            # c=64 must not be throttled (2 x 64 in flight); one run() thread, as mlflow's one worker.
            "request_settings:\n  max_concurrent_requests_per_instance: 64\n"
            "environment_variables:\n  WORKER_COUNT: '1'\n"
        )
        colds: list[float] = []
        for round_ in range(ROUNDS):
            name = f"dep{round_}"
            started = time.perf_counter()
            sm("online-deployment", "create", "-f", str(spec), "-n", name)
            colds.append(time.perf_counter() - started)
            if round_ < ROUNDS - 1:
                sm("online-deployment", "delete", "-e", "mlflow-bench", "-n", name, "--yes")
        sm("online-endpoint", "update", "-n", "mlflow-bench", "--traffic", f"dep{ROUNDS - 1}=100")
        shown = json.loads(sm("online-endpoint", "show", "-n", "mlflow-bench"))
        key = json.loads(sm("online-endpoint", "get-credentials", "-n", "mlflow-bench"))[
            "primaryKey"
        ]
        dep = json.loads(
            sm("online-deployment", "show", "-e", "mlflow-bench", "-n", f"dep{ROUNDS - 1}")
        )
        server = json.loads((home / "server.json").read_text())
        pids = [int(server["processes"]["router"]["pid"])] + [
            int(i["pid"]) for i in dep["instances"] if i.get("pid")
        ]
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        uri = shown["scoring_uri"]
        wait_for(lambda: httpx.post(uri, content=body, headers=headers, timeout=30).status_code == 200,
                 timeout=30, what="route to the deployment")  # fmt: skip
        results = _measure(uri, body, headers, pids, workdir)
    finally:
        subprocess.run([*cli, "down"], env=env, check=False, capture_output=True, timeout=120)
    return results, colds


def run(workdir: Path) -> str:
    """Measure both; return the markdown section."""
    workdir.mkdir(parents=True, exist_ok=True)
    model = workdir / "mlflow-sklearn-model"
    _save_model(model)
    version = metadata.version("mlflow-skinny")
    python = _venv(
        workdir, "mlflow", f"mlflow=={version}|mlflow",
        f"scikit-learn=={metadata.version('scikit-learn')}", f"pandas=={metadata.version('pandas')}",
    )  # fmt: skip
    body = json.dumps({"dataframe_split": {"columns": COLUMNS, "data": ROWS}}).encode()
    print("bench: measuring mlflow models serve", flush=True)
    (m_high, m_low), m_start = _mlflow_serve(python, model, workdir, body)
    print("bench: measuring Switchman (MLflow no-code)", flush=True)
    (s_high, s_low), colds = _switchman(model, workdir, body)
    ratio = s_high.rps / m_high.rps if m_high.rps else float("nan")
    cpu_ratio = (
        m_high.cpu_us_per_request / s_high.cpu_us_per_request
        if s_high.cpu_us_per_request
        else float("nan")
    )

    def row(name: str, high: LoadResult, low: LoadResult) -> str:
        return (
            f"| {name} | {high.rps:,.0f} | {high.p50_ms:.2f} | {high.p99_ms:.2f} | "
            f"{high.cpu_us_per_request:,.0f} | {low.rps:,.0f} | {low.p50_ms:.2f} | "
            f"{high.errors + low.errors} |"
        )

    lines = [
        "## MLflow no-code serving (scikit-learn model, 2-row dataframe_split body)",
        "",
        f"mlflow {version} (`mlflow models serve --env-manager local -w 1`) against Switchman's "
        "full path (router with key auth → instance with the built-in MLflow scorer, one run() "
        "thread). Servers on core 0, wrk on core 1.",
        "",
        f"| target | req/s c={C_HIGH} | p50 ms | p99 ms | CPU µs/req | req/s c={C_LOW} | p50 ms c={C_LOW} | errors |",
        "|---|---|---|---|---|---|---|---|",
        row(f"mlflow models serve {version}", m_high, m_low),
        row("Switchman full path (MLflow no-code)", s_high, s_low),
        "",
        f"Throughput: Switchman = **{ratio:.1f}×** mlflow models serve at c={C_HIGH} (goal ≥ 3×); "
        f"CPU per request: mlflow uses {cpu_ratio:.1f}× Switchman's.",
        "",
        "| start | seconds |",
        "|---|---|",
        f"| mlflow models serve: process start → /ping 200 | {m_start:.1f} |",
    ]
    for i, seconds in enumerate(colds):
        lines.append(
            f"| Switchman: online-deployment create → ready, cached environment (round {i + 1}) | {seconds:.1f} |"
        )
    return "\n".join(lines) + "\n"
