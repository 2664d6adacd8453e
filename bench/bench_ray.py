"""The Ray backend against the local backend, and against Ray Serve, in one run.

* deploy-to-ready with a warm node cache (code already downloaded, environment built) on Ray vs
  the local backend (goal ≤ 1.5×);
* the router → instance hop on Ray vs local (same machine: the data path does not go through Ray,
  so this isolates what the backend adds — nothing, ideally);
* scale 1 → 4 instances on Ray;
* Ray Serve's own deploy time for the same scoring script, on the same cluster.

Ray swaps 127.0.0.1 for the machine's address and probes public resolvers, so everything here runs
inside a loopback-only network namespace (``unshare --net``): ``run`` re-executes this module
there and returns its markdown. The two-node cluster is ``ray.cluster_utils.Cluster``, stopped by
its own pids.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CODE = REPO / "tests" / "testdata" / "healing" / "code"
GIB = 1024**3
HOP_REQUESTS = 300


def run(workdir: Path) -> str:
    workdir.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode != 0:
        return "## Ray backend\n\nSkipped: `unshare --net` is not available here.\n"
    run_dir = Path(tempfile.mkdtemp(prefix="ray-", dir=workdir))
    inner = f"ip link set lo up && exec {sys.executable} -m bench.bench_ray --inside {run_dir}"
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", inner],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    report = run_dir / "report.md"
    if done.returncode != 0 or not report.exists():
        return f"## Ray backend\n\nFailed (exit {done.returncode}):\n\n```\n{done.stderr[-3000:]}\n```\n"
    return report.read_text()


# -- inside the namespace --------------------------------------------------------------------------


def _cli(home: Path) -> Any:
    env = {**os.environ, "SWITCHMAN_HOME": str(home)}

    def sm(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "switchman", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"switchman {' '.join(args)}: {done.stderr}")
        return done.stdout

    return sm


def _spec(folder: Path, endpoint: str, name: str, count: int = 1) -> Path:
    path = folder / f"{endpoint}-{name}.yml"
    path.write_text(
        json.dumps(
            {
                "name": name,
                "endpoint_name": endpoint,
                "code_configuration": {"code": str(CODE), "scoring_script": "score.py"},
                "instance_type": "Standard_DS1_v2",
                "instance_count": count,
            }
        )
    )
    return path


def _deploy_seconds(sm: Any, folder: Path, endpoint: str, name: str) -> float:
    started = time.perf_counter()
    sm("online-deployment", "create", "-f", str(_spec(folder, endpoint, name)), "-o", "none")
    return time.perf_counter() - started


def _hop_ms(sm: Any, endpoint: str, name: str) -> float:
    import httpx

    uri = json.loads(sm("online-endpoint", "show", "-n", endpoint))["scoring_uri"]
    key = json.loads(sm("online-endpoint", "get-credentials", "-n", endpoint))["primaryKey"]
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "azureml-model-deployment": name,
    }
    times = []
    with httpx.Client(trust_env=False, timeout=10) as http:
        for i in range(HOP_REQUESTS + 20):
            started = time.perf_counter()
            answer = http.post(uri, content=b"{}", headers=headers)
            if answer.status_code != 200:
                raise RuntimeError(f"scoring answered {answer.status_code}: {answer.text}")
            if i >= 20:  # warm-up
                times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _platform(sm: Any, folder: Path, *up: str) -> dict[str, float]:
    sm("up", "--port", "0", "--api-port", "0", *up)
    try:
        sm("online-endpoint", "create", "-n", "bench", "-o", "none")
        cold = _deploy_seconds(sm, folder, "bench", "warmup")  # fills caches (envs, node cache)
        warm = statistics.median(_deploy_seconds(sm, folder, "bench", f"dep{i}") for i in range(2))
        hop = _hop_ms(sm, "bench", "dep0")
        result = {"cold": cold, "warm": warm, "hop": hop}
        started = time.perf_counter()
        sm(
            "online-deployment", "update", "-n", "dep1", "-e", "bench",
            "--set", "instance_count=4", "-o", "none",
        )  # fmt: skip
        result["scale"] = time.perf_counter() - started
        return result
    finally:
        sm("down")


def _serve_seconds(address: str) -> tuple[float, float]:
    """Ray Serve: the same score.py as a Serve deployment (first app, then a second one)."""
    import ray
    from ray import serve

    ray.init(address=address, log_to_driver=False)
    sys.path.insert(0, str(CODE))

    @serve.deployment(ray_actor_options={"num_cpus": 1})
    class Scorer:
        def __init__(self) -> None:
            sys.path.insert(0, str(CODE))
            import score

            score.init()
            self.score = score

        async def __call__(self, request: Any) -> Any:
            return self.score.run((await request.body()).decode())

    try:
        times = []
        for i in range(2):
            started = time.perf_counter()
            serve.run(Scorer.bind(), name=f"app{i}", route_prefix=f"/app{i}")
            times.append(time.perf_counter() - started)
        return times[0], times[1]
    finally:
        serve.shutdown()
        ray.shutdown()


def inside(run_dir: Path) -> None:
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 4, "memory": 16 * GIB, "include_dashboard": False},
    )
    try:
        cluster.add_node(num_cpus=4, memory=16 * GIB)
        cluster.wait_for_nodes()
        local = _platform(_cli(run_dir / "local-home"), run_dir)
        ray_side = _platform(
            _cli(run_dir / "ray-home"),
            run_dir,
            "--backend",
            "ray",
            "--ray-address",
            cluster.address,
        )
        serve_first, serve_second = _serve_seconds(cluster.address)
    finally:
        cluster.shutdown()
    rows = [
        ("deploy → ready, warm cache", local["warm"], ray_side["warm"], "s"),
        ("deploy → ready, first in a fresh home", local["cold"], ray_side["cold"], "s"),
        ("router → instance hop, median", local["hop"], ray_side["hop"], "ms"),
        ("scale 1 → 4 instances", local["scale"], ray_side["scale"], "s"),
    ]
    lines = [
        "## Ray backend",
        "",
        "A two-node `ray.cluster_utils.Cluster` on this machine inside a loopback-only network "
        "namespace; the tests' echo scoring script (`tests/testdata/healing/code`), "
        "Standard_DS1_v2, anchor: the local backend in the same run.",
        "",
        "| | local | Ray | Ray / local |",
        "|---|---:|---:|---:|",
    ]
    for label, lo, ra, unit in rows:
        lines.append(f"| {label} | {lo:.2f} {unit} | {ra:.2f} {unit} | {ra / lo:.2f}× |")
    lines += [
        "",
        f"Ray Serve, same script on the same cluster: first `serve.run` {serve_first:.2f} s "
        f"(starts Serve's controller and proxy), a second application {serve_second:.2f} s; "
        f"Switchman on Ray, warm: {ray_side['warm']:.2f} s "
        f"({ray_side['warm'] / serve_second:.2f}× Serve's warm deploy).",
        "",
    ]
    (run_dir / "report.md").write_text("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        inside(Path(sys.argv[2]))
    else:
        print("usage: python -m bench.bench_ray --inside RUN_DIR", file=sys.stderr)
        raise SystemExit(2)
