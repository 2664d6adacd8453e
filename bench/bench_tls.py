"""TLS cost on the full path (router → Switchman runtime): req/s and p50 with and without TLS on
keep-alive connections, and the handshake cost shown apart with a new connection per request."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import httpx

from bench.load import LoadResult, pin, run_wrk
from bench.throughput import ROWS, _runtime_env, _serve
from switchman.home import Home
from switchman.tls import client_context, ensure_local
from tests.support.proc import free_port, start_process, stop_process, wait_for

KEY = "bench-key"


def _router(home: Path, port: int, tls: list[str], log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "switchman.dataplane", "--home", str(home), "--port", str(port)]
    with log.open("ab") as out:
        return start_process([*pin(0), *cmd, *tls], stdout=out, stderr=subprocess.STDOUT)


def run(workdir: Path) -> str:
    workdir.mkdir(parents=True, exist_ok=True)
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    home = workdir / "tls-home"
    home.mkdir(exist_ok=True)
    files = ensure_local(Home(home), None)
    ctx = client_context(files.ca)
    body = json.dumps({"data": ROWS}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
    rt_port = free_port()
    results: dict[str, LoadResult] = {}
    rt_cmd = [sys.executable, "-m", "switchman.runtime", "--host", "127.0.0.1"]
    with _serve(
        [*rt_cmd, "--port", str(rt_port)],
        f"http://127.0.0.1:{rt_port}/",
        env=_runtime_env("blue-1"),
        log=logs / "tls-runtime.log",
    ) as rt:
        table = {
            "version": 1,
            "endpoints": {
                "bench": {
                    "auth_mode": "key",
                    "key_sha256": [hashlib.sha256(KEY.encode()).hexdigest()],
                    "traffic": {"blue": 100},
                    "deployments": {
                        "blue": {
                            "request_timeout_ms": 5000,
                            "max_concurrent_requests_per_instance": 64,
                            "instances": [
                                {
                                    "id": "blue-1",
                                    "url": f"http://127.0.0.1:{rt_port}",
                                    "ready": True,
                                }
                            ],
                        }
                    },
                }
            },
        }
        (home / "routes.json").write_text(json.dumps(table))
        for name, tls in (
            ("plain", []),
            ("tls", ["--tls-cert", str(files.cert), "--tls-key", str(files.key)]),
        ):
            port = free_port()
            scheme = "https" if tls else "http"
            proc = _router(home, port, tls, logs / f"tls-router-{name}.log")
            try:
                wait_for(
                    lambda scheme=scheme, port=port: (
                        httpx.get(
                            f"{scheme}://127.0.0.1:{port}/-/ready", verify=ctx, timeout=2
                        ).status_code
                        == 200
                    ),
                    timeout=30,
                    what=f"{name} router",
                )
                url = f"{scheme}://127.0.0.1:{port}/endpoints/bench/score"
                pids = [proc.pid, rt]
                print(f"bench: tls section, {name}", flush=True)
                run_wrk(
                    url, body, headers, connections=16, seconds=1, workdir=workdir, server_pids=pids
                )
                results[f"{name} c=64"] = run_wrk(
                    url,
                    body,
                    headers,
                    connections=64,
                    seconds=5,
                    workdir=workdir,
                    server_pids=pids,
                    part_pids=[proc.pid],
                )
                results[f"{name} c=1"] = run_wrk(
                    url, body, headers, connections=1, seconds=3, workdir=workdir, server_pids=pids
                )
                results[f"{name} new connection per request, c=8"] = run_wrk(
                    url,
                    body,
                    {**headers, "Connection": "close"},
                    connections=8,
                    seconds=3,
                    workdir=workdir,
                    server_pids=pids,
                    part_pids=[proc.pid],
                )
            finally:
                stop_process(proc)
    return _report(results)


def _report(r: dict[str, LoadResult]) -> str:
    lines = [
        "## TLS cost (full path: router → Switchman runtime, trivial model)",
        "",
        "| run | req/s | p50 ms | p99 ms | router CPU µs/req | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, res in r.items():
        lines.append(
            f"| {name} | {res.rps:,.0f} | {res.p50_ms:.3f} | {res.p99_ms:.3f} | "
            f"{res.part_cpu_us_per_request:.0f} | {res.errors} |"
        )
    ka = r["tls c=64"].rps / r["plain c=64"].rps
    p50 = r["tls c=1"].p50_ms - r["plain c=1"].p50_ms
    new = r["tls new connection per request, c=8"]
    old = r["plain new connection per request, c=8"]
    hs_cpu = new.part_cpu_us_per_request - old.part_cpu_us_per_request
    lines += [
        "",
        f"- keep-alive throughput with TLS: **{ka:.2f}×** plain (c=64); p50 at c=1 "
        f"{'+' if p50 >= 0 else ''}{p50:.3f} ms.",
        f"- a new connection per request: TLS {new.rps:,.0f} req/s vs plain {old.rps:,.0f} "
        f"({new.rps / old.rps:.2f}×): the handshake (ECDHE P-256, TLS 1.3) costs the router "
        f"about {hs_cpu:.0f} µs CPU each — paid once per connection, so keep-alive makes it rare.",
        "",
    ]
    return "\n".join(lines)
