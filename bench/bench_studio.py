"""Studio page and chart-data latency (issue #15), against the REST API's endpoint list (the anchor:
the same data as JSON, same process, same connection).

A fresh platform with 10 endpoints; one of them gets 24 hours of 1-minute roll-ups for two
deployments (what a busy blue/green pair writes: ~26 000 metric rows), and the cost report reads 30
days of events of 500 instances. A signed-in httpx client (session cookie from a one-time link, as
a browser gets) measures the median and p90 of 30 sequential requests each.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "switchman" / "studio" / "static"
ROUNDS = 30


def _switchman(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "switchman", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def _seed(db: Path, now: float) -> None:
    """24 h of 1-minute roll-ups for ep-0 (blue, green) and 30 days of instance events."""
    rows = []
    for minute in range(24 * 60):
        t = now - 86400 + minute * 60
        for dep in ("blue", "green"):
            for code in ("200", "424"):
                dims = {"deployment": dep, "statusCode": code, "statusCodeClass": code[0] + "xx"}
                rows.append((t, "ep-0", dep, "", "RequestsPerMinute", json.dumps(dims), 120.0))
            for name in ("RequestLatency", "RequestLatency_P50", "RequestLatency_P90"):
                rows.append((t, "ep-0", dep, "", name, json.dumps({"deployment": dep}), 3.0))
            rows.append(
                (t, "ep-0", dep, "", "RequestLatency_P99", json.dumps({"deployment": dep}), 9.0)
            )
            inst = f"{dep}-1"
            for name in ("CpuUtilizationPercentage", "CpuMemoryUtilizationPercentage"):
                rows.append((t, "ep-0", dep, inst, name, json.dumps({"instanceId": inst}), 20.0))
            dims = {"instanceId": inst, "State": "Ready"}
            rows.append((t, "ep-0", dep, inst, "DeploymentCapacity", json.dumps(dims), 1.0))
    events = []
    for i in range(500):
        start = now - 30 * 86400 + i * 5000
        for name, dt in (("Created", 0), ("Started", 0), ("Ready", 2), ("Killing", 4000)):
            events.append((start + dt, "ep-0", "blue", f"blue-{i}", name, name))
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany(
            "INSERT INTO events (time, endpoint, deployment, instance, name, message) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            events,
        )
        conn.commit()
    return None


def _time(client: httpx.Client, url: str) -> tuple[float, float]:
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        answer = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:200]}")
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def run(workdir: Path) -> str:
    home = workdir / "studio-bench-home"
    env = {**os.environ, "SWITCHMAN_HOME": str(home)}
    pids: list[int] = []
    try:
        _switchman(env, "up", "--port", "0", "--api-port", "0")
        server = json.loads((home / "server.json").read_text())
        pids = [p["pid"] for p in server["processes"].values()]
        for i in range(10):
            _switchman(env, "online-endpoint", "create", "-n", f"ep-{i}")
        _seed(home / "state.db", time.time())
        link = _switchman(env, "studio").strip()
        api = server["api_url"]
        token = (home / "admin-token").read_text().strip()
        with httpx.Client(trust_env=False, timeout=60) as browser:
            browser.get(link)  # redeems the one-time token: the session cookie is set
            with httpx.Client(
                trust_env=False, timeout=60, headers={"Authorization": f"Bearer {token}"}
            ) as cli:
                anchor = _time(cli, f"{api}/api/online-endpoints")
            cases = [
                ("endpoint list page `/studio/`", f"{api}/studio/"),
                ("endpoint page `/studio/endpoints/ep-0`", f"{api}/studio/endpoints/ep-0"),
                (
                    "chart data, 15 min",
                    f"{api}/api/studio/online-endpoints/ep-0/metrics?window=15m",
                ),
                ("chart data, 1 h", f"{api}/api/studio/online-endpoints/ep-0/metrics?window=1h"),
                (
                    "chart data, 24 h (26k rows)",
                    f"{api}/api/studio/online-endpoints/ep-0/metrics?window=24h",
                ),
                ("cost report (500 instances, 30 d)", f"{api}/api/monitor/cost"),
                ("cost page `/studio/cost`", f"{api}/studio/cost"),
            ]
            measured = [(name, _time(browser, url)) for name, url in cases]
    finally:
        with contextlib.suppress(Exception):
            _switchman(env, "down")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    lines = [
        "## Studio",
        "",
        "Sequential requests from one signed-in client, median and p90 of "
        f"{ROUNDS}; ratio = median / the anchor's median (`GET /api/online-endpoints`, 10 "
        "endpoints, bearer token).",
        "",
        "| request | median ms | p90 ms | ratio to anchor |",
        "|---|---:|---:|---:|",
        f"| anchor: `GET /api/online-endpoints` | {anchor[0]:.2f} | {anchor[1]:.2f} | 1.00 |",
    ]
    for name, (median, p90) in measured:
        lines.append(f"| {name} | {median:.2f} | {p90:.2f} | {median / anchor[0]:.2f} |")
    shipped = sorted(p for p in STATIC.rglob("*") if p.suffix in (".js", ".css"))
    total = sum(p.stat().st_size for p in shipped)
    lines += [
        "",
        f"Front-end files shipped in the package: {total / 1024:.0f} KiB in {len(shipped)} files "
        "(htmx, uPlot, the studio's own script and style), no build step.",
        "",
    ]
    return "\n".join(lines)
