"""Throughput, latency and CPU per request: Switchman's full path against its anchors.

Every server tree is pinned to core 0 and wrk to core 1; the same body (2 rows of 10 floats), the
same trivial model and the same wrk settings for every target.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.load import LoadResult, pin, run_wrk
from tests.support.proc import free_port, start_process, stop_process, wait_for

REPO = Path(__file__).resolve().parents[1]
APPS = Path(__file__).resolve().parent / "apps"
ROWS = [[0.1 * i + j for i in range(10)] for j in range(2)]
C_HIGH, C_LOW = 64, 1
SECONDS_HIGH, SECONDS_LOW = 6, 4


@dataclass
class Target:
    name: str
    url: str
    body: bytes
    headers: dict[str, str]
    pids: list[int]
    part: list[int] | None = None  # measured on its own too (the router of the full path)


def _venv(workdir: Path, name: str, *requirements: str) -> Path:
    """A venv under ``workdir`` with ``requirements`` (first that installs wins per group)."""
    root = workdir / "venvs" / name
    python = root / "bin" / "python"
    stamp = root / ".installed"
    if stamp.exists():
        return python
    uv = [sys.executable, "-m", "uv"]
    subprocess.run(
        [*uv, "venv", "-q", "--python", sys.executable, str(root)], check=True, timeout=300
    )
    for requirement in requirements:
        for choice in requirement.split("|"):
            done = subprocess.run(
                [*uv, "pip", "install", "-q", "--python", str(python), choice],
                capture_output=True,
                text=True,
                timeout=900,
            )
            if done.returncode == 0:
                break
        else:
            raise SystemExit(
                f"bench: cannot install {requirement!r} into {root}: {done.stderr[-2000:]}"
            )
    stamp.write_text("ok")
    return python


def _version(python: Path, dist: str) -> str:
    out = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or "?"


@contextmanager
def _serve(
    cmd: list[str], ready: str, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[int]:
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = start_process([*pin(0), *cmd], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(
            lambda: httpx.get(ready, timeout=2).status_code == 200,
            timeout=120,
            what=f"{cmd[:3]} ready",
        )
        yield proc.pid
    finally:
        stop_process(proc)
        if log:
            out.close()  # type: ignore[union-attr]


def _runtime_env(instance: str) -> dict[str, str]:
    return {
        **os.environ,
        "AZUREML_ENTRY_SCRIPT": str(APPS / "score.py"),
        "AML_APP_ROOT": str(APPS),
        "AZUREML_MODEL_DIR": str(APPS),
        "WORKER_COUNT": "1",
        "SWITCHMAN_INSTANCE_ID": instance,
        "PYTHONPATH": str(REPO),
    }


def _measure(target: Target, workdir: Path) -> tuple[LoadResult, LoadResult]:
    # Warm-up (connections, imports, caches), then the two measured runs.
    run_wrk(
        target.url,
        target.body,
        target.headers,
        connections=C_HIGH,
        seconds=1,
        workdir=workdir,
        server_pids=target.pids,
    )
    high = run_wrk(
        target.url,
        target.body,
        target.headers,
        connections=C_HIGH,
        seconds=SECONDS_HIGH,
        workdir=workdir,
        server_pids=target.pids,
        part_pids=target.part,
    )
    low = run_wrk(
        target.url,
        target.body,
        target.headers,
        connections=C_LOW,
        seconds=SECONDS_LOW,
        workdir=workdir,
        server_pids=target.pids,
    )
    return high, low


def run(workdir: Path) -> str:
    """Run every target; return the markdown section."""
    aml_body = json.dumps({"data": ROWS}).encode()
    json_headers = {"Content-Type": "application/json"}
    results: dict[str, tuple[LoadResult, LoadResult]] = {}
    versions: dict[str, str] = {}
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def measure(
        name: str,
        url: str,
        body: bytes,
        headers: dict[str, str],
        pids: list[int],
        part: list[int] | None = None,
    ) -> None:
        print(f"bench: measuring {name}", flush=True)
        results[name] = _measure(Target(name, url, body, headers, pids, part), workdir)

    py = sys.executable
    port = free_port()
    with _serve([py, str(APPS / "bare.py"), str(port)], f"http://127.0.0.1:{port}/") as pid:
        measure(
            "bare uvicorn+uvloop+httptools (floor)",
            f"http://127.0.0.1:{port}/score",
            aml_body,
            json_headers,
            [pid],
        )

    azml = _venv(workdir, "azmlinfsrv", "azureml-inference-server-http==1.5.1")
    versions["azureml-inference-server-http"] = _version(azml, "azureml-inference-server-http")
    port = free_port()
    azml_cmd = [
        str(azml.parent / "azmlinfsrv"),
        "--entry_script",
        str(APPS / "score.py"),
        "--port",
        str(port),
    ]
    with _serve(
        azml_cmd,
        f"http://127.0.0.1:{port}/",
        env={**os.environ, "WORKER_COUNT": "1"},
        log=logs / "azml.log",
    ) as pid:
        measure("azmlinfsrv 1.5.1", f"http://127.0.0.1:{port}/score", aml_body, json_headers, [pid])

    kserve = _venv(workdir, "kserve", "kserve==0.21|kserve==0.21.0|kserve")
    versions["kserve"] = _version(kserve, "kserve")
    port = free_port()
    kserve_body = json.dumps({"instances": ROWS}).encode()
    with _serve(
        [str(kserve), str(APPS / "kserve_model.py"), "--http_port", str(port)],
        f"http://127.0.0.1:{port}/v1/models/m",
        log=logs / "kserve.log",
    ) as pid:
        measure(
            f"KServe {versions['kserve']}",
            f"http://127.0.0.1:{port}/v1/models/m:predict",
            kserve_body,
            json_headers,
            [pid],
        )

    rt_cmd = [py, "-m", "switchman.runtime", "--host", "127.0.0.1"]
    blue_port, green_port, router_port = free_port(), free_port(), free_port()
    with (
        _serve(
            [*rt_cmd, "--port", str(blue_port)],
            f"http://127.0.0.1:{blue_port}/",
            env=_runtime_env("blue-1"),
            log=logs / "blue.log",
        ) as blue,
        _serve(
            [*rt_cmd, "--port", str(green_port)],
            f"http://127.0.0.1:{green_port}/",
            env=_runtime_env("green-1"),
            log=logs / "green.log",
        ) as green,
    ):
        measure(
            "Switchman runtime alone (no router)",
            f"http://127.0.0.1:{blue_port}/score",
            aml_body,
            json_headers,
            [blue],
        )
        home = workdir / "home"
        home.mkdir(exist_ok=True)
        key = "bench-key"

        def dep(port_: int, pid_: int, ident: str) -> dict[str, object]:
            return {
                "request_timeout_ms": 5000,
                # c=64 must not be throttled: 2 x 64 x 1 instance = 128 in flight allowed
                "max_concurrent_requests_per_instance": 64,
                "instances": [
                    {"id": ident, "url": f"http://127.0.0.1:{port_}", "ready": True, "pid": pid_}
                ],
            }

        table = {
            "version": 1,
            "endpoints": {
                "bench": {
                    "auth_mode": "key",
                    "key_sha256": [
                        hashlib.sha256(key.encode()).hexdigest(),
                        hashlib.sha256(b"other").hexdigest(),
                    ],
                    "traffic": {"blue": 90, "green": 10},
                    "mirror_traffic": {},
                    "deployments": {
                        "blue": dep(blue_port, blue, "blue-1"),
                        "green": dep(green_port, green, "green-1"),
                    },
                }
            },
        }
        (home / "routes.json").write_text(json.dumps(table))
        router_cmd = [
            py,
            "-m",
            "switchman.dataplane",
            "--home",
            str(home),
            "--host",
            "127.0.0.1",
            "--port",
            str(router_port),
        ]
        with _serve(
            router_cmd, f"http://127.0.0.1:{router_port}/-/ready", log=logs / "router.log"
        ) as router:
            measure(
                "Switchman full path (router: key auth, 90/10 split, metrics, traffic log → runtime)",
                f"http://127.0.0.1:{router_port}/endpoints/bench/score",
                aml_body,
                {**json_headers, "Authorization": f"Bearer {key}"},
                [router, blue, green],
                part=[router],
            )
    return _report(results, versions)


def _report(results: dict[str, tuple[LoadResult, LoadResult]], versions: dict[str, str]) -> str:
    names = list(results)
    floor = results[names[0]][0]
    azml = results[names[1]][0]
    kserve = results[names[2]][0]
    alone = results[names[3]]
    full = results[names[4]]
    lines = [
        "## Throughput and latency (trivial model, 2x10-float JSON body)",
        "",
        f"c={C_HIGH}: wrk -t1 -c{C_HIGH} -d{SECONDS_HIGH}s; c={C_LOW}: wrk -t1 -c1 -d{SECONDS_LOW}s. Server tree "
        "pinned to core 0 with taskset, wrk to core 1. CPU µs/request = utime+stime of the whole server tree "
        "(/proc/<pid>/stat, descendants included) during the c=64 run ÷ requests.",
        "",
        f"| target | req/s c={C_HIGH} | p50 ms | p99 ms | CPU µs/req | errors | p50 ms c=1 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (high, low) in results.items():
        lines.append(
            f"| {name} | {high.rps:,.0f} | {high.p50_ms:.2f} | {high.p99_ms:.2f} | "
            f"{high.cpu_us_per_request:.0f} | {high.errors} | {low.p50_ms:.3f} |"
        )
    hop = full[1].p50_ms - alone[1].p50_ms
    router_cpu = full[0].part_cpu_us_per_request
    lines += [
        "",
        f"Of the full path's {full[0].cpu_us_per_request:.0f} µs/request, the router process took "
        f"{router_cpu:.0f} µs (its traffic-log writer thread included) and the two instances "
        f"{full[0].cpu_us_per_request - router_cpu:.0f} µs.",
        "",
        "Ratios for the Switchman full path:",
        "",
        f"- throughput vs azmlinfsrv: **{full[0].rps / azml.rps:.1f}x** (target ≥5x)",
        f"- throughput vs KServe: **{full[0].rps / kserve.rps:.1f}x** (target ≥3x)",
        f"- router hop at c=1 (p50 full path - p50 runtime alone): **{hop:.3f} ms** (target ≤0.2 ms)",
        f"- server CPU per request vs the bare floor: **{full[0].cpu_us_per_request / floor.cpu_us_per_request:.1f}x** "
        "(target ≤3x)",
        "",
        "Versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f"; Python {sys.version.split()[0]}.",
    ]
    return "\n".join(lines) + "\n"
