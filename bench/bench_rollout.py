"""Safe-rollout costs on the full path (router → Switchman runtime), same run, side by side:

- data collection (``request`` + ``response`` at sampling_rate 1.0) against none: throughput at
  c=64 (goal: ≤ 10 % less) and CPU per request;
- shadow pairing: the live answer's latency at c=1 with a 50 % mirror, pairing on against off
  (``SWITCHMAN_SHADOW_PAIRING=0``), and without a mirror as the anchor.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from bench.load import LoadResult, pin, run_wrk
from bench.throughput import ROWS, _runtime_env, _serve
from tests.support.proc import free_port, start_process, stop_process, wait_for

KEY = "bench-key"


def _table(blue: int, green: int, *, collect: bool, mirror: bool) -> dict[str, Any]:
    def dep(port: int, ident: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request_timeout_ms": 5000,
            "max_concurrent_requests_per_instance": 64,
            "instances": [{"id": ident, "url": f"http://127.0.0.1:{port}", "ready": True}],
        }
        if collect and ident == "blue-1":
            out["data_collector"] = {
                "rolling_rate": "hour",
                "collections": {"request": 1.0, "response": 1.0},
                "capture_headers": [],
            }
        return out

    return {
        "version": 1,
        "endpoints": {
            "bench": {
                "auth_mode": "key",
                "key_sha256": [hashlib.sha256(KEY.encode()).hexdigest()],
                "traffic": {"blue": 100},
                "mirror_traffic": {"green": 50} if mirror else {},
                "deployments": {"blue": dep(blue, "blue-1"), "green": dep(green, "green-1")},
            }
        },
    }


def _router(home: Path, port: int, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "switchman.dataplane", "--home", str(home), "--port", str(port)]
    with log.open("ab") as out:
        return start_process([*pin(0), *cmd], stdout=out, stderr=subprocess.STDOUT, env=env)


def _case(
    workdir: Path,
    name: str,
    table: dict[str, Any],
    runtimes: list[int],
    *,
    env: dict[str, str] | None = None,
) -> tuple[LoadResult, LoadResult, int]:
    home = workdir / f"rollout-home-{name}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "routes.json").write_text(json.dumps(table))
    port = free_port()
    proc = _router(
        home, port, workdir / "logs" / f"rollout-router-{name}.log", env or dict(os.environ)
    )
    body = json.dumps({"data": ROWS}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
    url = f"http://127.0.0.1:{port}/endpoints/bench/score"
    try:
        wait_for(
            lambda: httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=2).status_code == 200,
            timeout=30,
            what=f"{name} router",
        )
        pids = [proc.pid, *runtimes]
        print(f"bench: rollout section, {name}", flush=True)
        run_wrk(url, body, headers, connections=16, seconds=1, workdir=workdir, server_pids=pids)
        high = run_wrk(
            url, body, headers, connections=64, seconds=5, workdir=workdir, server_pids=pids,
            part_pids=[proc.pid],
        )  # fmt: skip
        low = run_wrk(
            url, body, headers, connections=1, seconds=4, workdir=workdir, server_pids=pids
        )
    finally:
        stop_process(proc)
    records = sum(
        len(p.read_text().splitlines()) for p in (home / "data-collection").rglob("*.jsonl")
    )
    return high, low, records


def run(workdir: Path) -> str:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "logs").mkdir(exist_ok=True)
    rt_cmd = [sys.executable, "-m", "switchman.runtime", "--host", "127.0.0.1"]
    blue, green = free_port(), free_port()
    results: dict[str, tuple[LoadResult, LoadResult, int]] = {}
    with (
        _serve(
            [*rt_cmd, "--port", str(blue)],
            f"http://127.0.0.1:{blue}/",
            env=_runtime_env("blue-1"),
            log=workdir / "logs" / "rollout-blue.log",
        ) as blue_pid,
        _serve(
            [*rt_cmd, "--port", str(green)],
            f"http://127.0.0.1:{green}/",
            env=_runtime_env("green-1"),
            log=workdir / "logs" / "rollout-green.log",
        ) as green_pid,
    ):
        live = [blue_pid]
        both = [blue_pid, green_pid]
        results["no data collection"] = _case(
            workdir, "plain", _table(blue, green, collect=False, mirror=False), live
        )
        results["data collection, request+response at 1.0"] = _case(
            workdir, "collect", _table(blue, green, collect=True, mirror=False), live
        )
        mirrored = _table(blue, green, collect=False, mirror=True)
        results["50% mirror, pairing off"] = _case(
            workdir, "mirror-nopair", mirrored, both,
            env={**os.environ, "SWITCHMAN_SHADOW_PAIRING": "0"},
        )  # fmt: skip
        results["50% mirror, pairing on"] = _case(workdir, "mirror-pair", mirrored, both)
    return _report(results)


def _report(results: dict[str, tuple[LoadResult, LoadResult, int]]) -> str:
    lines = [
        "## Safe rollout: data collection and shadow pairing",
        "",
        "Router → one Switchman runtime (a 50 % mirror adds a second runtime); server tree pinned to "
        "core 0, wrk to core 1; c=64 for 5 s and c=1 for 4 s, after a 1 s warm-up.",
        "",
        "| case | req/s c=64 | p50 ms c=64 | router CPU µs/req | p50 ms c=1 | p99 ms c=1 | records written |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (high, low, records) in results.items():
        lines.append(
            f"| {name} | {high.rps:,.0f} | {high.p50_ms:.2f} | {high.part_cpu_us_per_request:.0f} "
            f"| {low.p50_ms:.3f} | {low.p99_ms:.3f} | {records:,} |"
        )
    plain = results["no data collection"][0]
    collect = results["data collection, request+response at 1.0"][0]
    off = results["50% mirror, pairing off"][1]
    on = results["50% mirror, pairing on"][1]
    cost = 100.0 * (1.0 - collect.rps / plain.rps)
    lines += [
        "",
        f"- data collection at sampling_rate 1.0 costs **{cost:.1f} %** of full-path throughput "
        f"({collect.rps / plain.rps:.2f}x; goal ≤ 10 %)",
        f"- shadow pairing, live p50 at c=1: **{on.p50_ms:.3f} ms** with pairing vs "
        f"**{off.p50_ms:.3f} ms** without ({on.p50_ms - off.p50_ms:+.3f} ms; goal: no added latency)",
        "",
    ]
    return "\n".join(lines)
