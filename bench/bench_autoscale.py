"""Autoscale reaction times (issue #12): load step → first new instance ready, scale-in after the
load stops, and a request to a deployment at zero, against the instance start time measured in the
same run (the anchor: a Started → Ready event pair of one instance).

The deployment is the self-healing test app (host interpreter, so the environment is "cached" by
construction); the rule is target tracking on ConcurrentRequestsPerInstance (target 1, 2 s window,
2 s cooldown), the load 4 closed-loop clients whose requests take 100 ms.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
CODE = REPO / "tests" / "testdata" / "healing" / "code"
EP = "bench-as"


def _poll(condition: Callable[[], Any], timeout: float, what: str) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return time.perf_counter()
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


class _State:
    def __init__(self, db: Path) -> None:
        self.db = db

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with contextlib.closing(
            sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        ) as c:
            return list(c.execute(sql, args).fetchall())

    def desired(self) -> int:
        import json

        [(spec,)] = self._rows(
            "SELECT spec FROM deployments WHERE endpoint=? AND name='blue'", (EP,)
        )
        return int(json.loads(spec).get("instance_count", 1))

    def ready(self) -> int:
        return len(self._rows("SELECT id FROM instances WHERE endpoint=? AND state='Ready'", (EP,)))

    def live(self) -> int:
        return len(
            self._rows(
                "SELECT id FROM instances WHERE endpoint=? AND state NOT IN ('Failed')", (EP,)
            )
        )

    def starts(self) -> list[float]:
        """Started → Ready seconds of each instance (the anchor)."""
        rows = self._rows(
            "SELECT instance, name, time FROM events WHERE endpoint=? AND name IN ('Started','Ready')",
            (EP,),
        )
        started: dict[str, float] = {}
        out = []
        for inst, name, when in rows:
            if name == "Started":
                started[inst] = when
            elif inst in started:
                out.append(when - started.pop(inst))
        return out


@contextlib.contextmanager
def _load(uri: str, key: str, clients: int, sleep: float) -> Iterator[Counter[int]]:
    results: Counter[int] = Counter()
    stop = threading.Event()
    deadline = time.monotonic() + 120

    def worker() -> None:
        with httpx.Client(trust_env=False, timeout=30) as http:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    code = http.post(
                        uri,
                        content=f'{{"sleep": {sleep}}}'.encode(),
                        headers={"Authorization": f"Bearer {key}"},
                    ).status_code
                except httpx.HTTPError:
                    code = -1
                results[code] += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    try:
        yield results
    finally:
        stop.set()
        for t in threads:
            t.join(30)


def run(workdir: Path) -> str:
    run_dir = Path(tempfile.mkdtemp(prefix="autoscale-", dir=workdir))
    home = run_dir / "home"
    env = {**os.environ, "SWITCHMAN_HOME": str(home)}
    cli = [sys.executable, "-m", "switchman"]

    def sm(*args: str) -> str:
        return subprocess.run(
            [*cli, *args], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()

    spec = run_dir / "blue.yml"
    spec.write_text(
        f"name: blue\nendpoint_name: {EP}\ncode_configuration:\n  code: {CODE}\n"
        "  scoring_script: score.py\ninstance_type: Standard_DS2_v2\ninstance_count: 1\n"
        "request_settings:\n  max_concurrent_requests_per_instance: 2\n  request_timeout_ms: 15000\n"
    )
    state = _State(home / "state.db")
    sm("up", "--port", "0", "--api-port", "0")
    try:
        sm("online-endpoint", "create", "-n", EP)
        sm("online-deployment", "create", "-f", str(spec), "--all-traffic")
        dep_id = sm(
            "online-deployment", "show", "-e", EP, "-n", "blue", "-o", "tsv", "--query", "id"
        )
        key = sm(
            "online-endpoint", "get-credentials", "-n", EP, "-o", "tsv", "--query", "primaryKey"
        )
        uri = sm("online-endpoint", "show", "-n", EP, "-o", "tsv", "--query", "scoring_uri")
        sm("monitor", "autoscale", "create", "--name", "bench", "--resource", dep_id,
           "--min-count", "1", "--max-count", "3", "--count", "1")  # fmt: skip
        sm("monitor", "autoscale", "rule", "create", "--autoscale-name", "bench", "--condition",
           "ConcurrentRequestsPerInstance > 1 avg 2s", "--scale", "target", "--cooldown", "2s")  # fmt: skip
        with _load(uri, key, clients=4, sleep=0.1) as results:
            t0 = time.perf_counter()
            t_decided = _poll(lambda: state.desired() > 1, 60, "scale-out decision")
            t_ready = _poll(lambda: state.ready() >= 2, 60, "first new instance ready")
            _poll(lambda: state.ready() >= state.desired() > 1, 60, "all new instances ready")
        t1 = time.perf_counter()
        t_in = _poll(lambda: state.desired() == 1, 120, "scale-in")
        failed = sum(n for code, n in results.items() if code != 200)
        served = sum(results.values())
        _poll(lambda: state.live() == 1, 60, "drained to one instance")

        sm("monitor", "autoscale", "update", "--autoscale-name", "bench", "--min-count", "0",
           "--idle-window", "2s")  # fmt: skip
        t2 = time.perf_counter()
        t_zero = _poll(lambda: state.live() == 0, 60, "scaled to zero")
        starts_before = len(state.starts())
        sent = time.perf_counter()
        answer = httpx.post(
            uri,
            content=b"{}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
            trust_env=False,
        )
        cold = time.perf_counter() - sent
        _poll(lambda: len(state.starts()) > starts_before, 10, "woken instance's Ready event")
        anchor = statistics.median(state.starts())
        woken_start = state.starts()[-1]
    finally:
        subprocess.run([*cli, "down"], env=env, check=False, capture_output=True)
    rows = [
        "| measurement | seconds | vs instance start |",
        "|---|---:|---:|",
        f"| instance start (Started → Ready, median of {len(state.starts())}; the anchor) | {anchor:.2f} | 1.00× |",
        f"| load step → scale-out decision | {t_decided - t0:.2f} | {(t_decided - t0) / anchor:.2f}× |",
        f"| load step → first new instance ready (goal ≤ 10 s) | {t_ready - t0:.2f} | {(t_ready - t0) / anchor:.2f}× |",
        f"| load stops → scale-in decision (window 2 s + cooldown 2 s) | {t_in - t1:.2f} | {(t_in - t1) / anchor:.2f}× |",
        f"| idle → zero instances (idle window 2 s, then drain) | {t_zero - t2:.2f} | {(t_zero - t2) / anchor:.2f}× |",
        f"| request at zero answered (HTTP {answer.status_code}; goal ≤ start + 0.5 s) | {cold:.2f} | {cold / anchor:.2f}× |",
        f"| of which the woken instance's own start | {woken_start:.2f} | {woken_start / anchor:.2f}× |",
    ]
    return (
        "## Autoscale\n\nTarget tracking on ConcurrentRequestsPerInstance (target 1, 2 s window, "
        "2 s cooldown, min 1 / max 3), 4 closed-loop clients with 100 ms requests, 1 s evaluation "
        "interval; then --min-count 0 with a 2 s idle window and one request to wake it.\n\n"
        + "\n".join(rows)
        + f"\n\nRequests during the scale-out and scale-in: {served} served, {failed} failed. "
        f"Cold request overhead beyond the woken instance's start: **{cold - woken_start:+.2f} s**.\n"
    )


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        print(run(Path(tmp)))
