"""Chaos scenarios for self-healing (issue 5), bounded in time, loopback only.

1. Three instances under closed-loop load; kill -9 one instance every 5 s for 30 s: share of
   requests that succeed, and how long until three instances are ready again after each kill.
2. A rolling update under the same load: failed requests.
3. A control-plane kill (and `switchman up` to bring it back) under the same load: failed requests.

Writes a markdown section (returned to `python -m bench`) and docs/reliability.md.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from switchman.client import Client
from switchman.home import Home

REPO = Path(__file__).resolve().parent.parent
CODE = REPO / "tests" / "testdata" / "healing" / "code"
PROBE_PERIOD_S = 1
DEPLOYMENT = f"""
name: blue
endpoint_name: chaos
code_configuration:
  code: {CODE}
  scoring_script: score.py
instance_type: Standard_DS2_v2
instance_count: 3
request_settings:
  max_concurrent_requests_per_instance: 4
liveness_probe: {{initial_delay: 1, period: {PROBE_PERIOD_S}, timeout: 1, failure_threshold: 2}}
readiness_probe: {{period: {PROBE_PERIOD_S}, timeout: 1, failure_threshold: 1}}
"""


class Load:
    """Closed-loop load from a few threads; bounded by time and count."""

    def __init__(
        self, uri: str, key: str, threads: int = 4, max_s: float = 120, max_requests: int = 200_000
    ) -> None:
        self.uri, self.key = uri, key
        self.results: Counter[int] = Counter()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_s
        self._max = max_requests
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]

    def _work(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(trust_env=False, timeout=15) as http:
            while (
                not self._stop.is_set()
                and time.monotonic() < self._deadline
                and sum(self.results.values()) < self._max
            ):
                try:
                    code = http.post(self.uri, content=b"{}", headers=headers).status_code
                except httpx.HTTPError:
                    code = -1
                self.results[code] += 1

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def summary(self) -> tuple[int, int]:
        total = sum(self.results.values())
        return total, total - self.results.get(200, 0)


def _ready(client: Client) -> list[dict[str, Any]]:
    view = client.get_deployment("chaos", "blue")
    return [i for i in view["instances"] if i["state"] == "Ready"]


def _wait(condition: Any, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(0.05)
    raise TimeoutError("condition not reached")


def run(workdir: Path) -> str:
    # A fresh home per run: a reused BENCH_WORKDIR must not find the last run's endpoint.
    home = Path(tempfile.mkdtemp(prefix="chaos-home-", dir=workdir))
    env = {**os.environ, "SWITCHMAN_HOME": str(home)}
    cli = [sys.executable, "-m", "switchman"]
    subprocess.run(
        [*cli, "up", "--port", "0", "--api-port", "0"], env=env, check=True, capture_output=True
    )
    try:
        client = Client.from_home(Home(home))
        client.create_endpoint({"name": "chaos"})
        spec_file = workdir / "chaos.yml"
        spec_file.write_text(DEPLOYMENT)
        subprocess.run(
            [*cli, "online-deployment", "create", "-f", str(spec_file), "--all-traffic"],
            env=env,
            check=True,
            capture_output=True,
        )
        uri = client.get_endpoint("chaos")["scoring_uri"]
        key = client.get_credentials("chaos")["primaryKey"]
        rng = random.Random(7)

        recoveries: list[float] = []
        with Load(uri, key) as kills:
            time.sleep(1)
            for _ in range(6):  # every 5 s for 30 s
                victim = rng.choice(_ready(client))
                os.kill(int(victim["pid"]), signal.SIGKILL)
                killed_at = time.monotonic()
                _wait(
                    lambda v=victim: (
                        all(i["pid"] != v["pid"] for i in _ready(client))
                        and len(_ready(client)) == 3
                    ),
                    60,
                )
                recoveries.append(time.monotonic() - killed_at)
                time.sleep(max(0.0, 5 - (time.monotonic() - killed_at)))
        kill_total, kill_failed = kills.summary()

        with Load(uri, key) as rolling:
            time.sleep(1)
            spec = client.get_deployment("chaos", "blue")
            doc = {
                k: v
                for k, v in spec.items()
                if k not in ("instances", "provisioning_state", "id", "properties", "error")
            }
            doc["environment_variables"] = {"GREETING": "v2"}
            client.update_deployment("chaos", "blue", doc, wait=True)
            time.sleep(1)
        roll_total, roll_failed = rolling.summary()

        server = Home(home).read_server() or {}
        with Load(uri, key) as cp:
            time.sleep(1)
            os.kill(int(server["processes"]["control-plane"]["pid"]), signal.SIGKILL)
            time.sleep(5)
            subprocess.run([*cli, "up"], env=env, check=True, capture_output=True)
            time.sleep(2)
        cp_total, cp_failed = cp.summary()
    finally:
        subprocess.run([*cli, "down"], env=env, check=False, capture_output=True)

    ok_pct = 100.0 * (kill_total - kill_failed) / max(kill_total, 1)
    worst = max(recoveries) if recoveries else float("nan")
    table = "\n".join(
        [
            "| scenario | requests | failed | success | recovery |",
            "|---|---:|---:|---:|---|",
            f"| kill -9 one of 3 instances every 5 s for 30 s | {kill_total} | {kill_failed} | {ok_pct:.3f}% | "
            f"3 ready again after {min(recoveries):.2f}–{worst:.2f} s (probe period {PROBE_PERIOD_S} s) |",
            f"| rolling update of 3 instances | {roll_total} | {roll_failed} | "
            f"{100.0 * (roll_total - roll_failed) / max(roll_total, 1):.3f}% | surge ⌈20%⌉ = 1 |",
            f"| control plane kill -9, then `switchman up` | {cp_total} | {cp_failed} | "
            f"{100.0 * (cp_total - cp_failed) / max(cp_total, 1):.3f}% | instances adopted |",
        ]
    )
    section = (
        "## Reliability (chaos)\n\nClosed-loop load from 4 client threads on 127.0.0.1 against 3 instances of a "
        "trivial script (max_concurrent_requests_per_instance 4), probes every second.\n\n"
        + table
        + "\n"
    )
    (REPO / "docs" / "reliability.md").write_text(
        "# Reliability\n\nMeasured by `make bench` (`bench/bench_chaos.py`) on this machine; "
        f"run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n" + section
    )
    return section


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(run(Path(tmp)))
