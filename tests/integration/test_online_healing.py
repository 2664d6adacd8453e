"""Self-healing: crash restart, liveness restarts, rolling updates under load, control-plane
independence, quota and memory limits — with real instances and real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.platform import Platform
from tests.support.proc import wait_for

pytestmark = pytest.mark.integration

CODE = Path(__file__).resolve().parent.parent / "testdata" / "healing" / "code"
PROBES = """
liveness_probe:
  initial_delay: 1
  period: 1
  timeout: 1
  failure_threshold: 2
readiness_probe:
  period: 1
  timeout: 1
  failure_threshold: 1
"""


def deploy(
    platform: Platform, tmp_path: Path, endpoint: str, *, count: int = 2, extra: str = ""
) -> None:
    spec = tmp_path / f"{endpoint}.yml"
    spec.write_text(
        f"name: blue\nendpoint_name: {endpoint}\ncode_configuration:\n  code: {CODE}\n  scoring_script: score.py\n"
        f"instance_type: Standard_DS2_v2\ninstance_count: {count}\n"
        "request_settings:\n  max_concurrent_requests_per_instance: 4\n  request_timeout_ms: 10000\n"
        f"{PROBES}{extra}"
    )
    platform.run("online-endpoint", "create", "-n", endpoint)
    platform.run("online-deployment", "create", "-f", str(spec), "--all-traffic")


def ready_pids(platform: Platform, endpoint: str) -> list[int]:
    view = platform.json("online-deployment", "show", "-n", "blue", "-e", endpoint)
    return sorted(i["pid"] for i in view["instances"] if i["state"] == "Ready")


def events(platform: Platform, endpoint: str) -> list[dict[str, str]]:
    with closing(sqlite3.connect(platform.home / "state.db", timeout=10)) as conn:
        rows = conn.execute(
            "SELECT name, message FROM events WHERE endpoint=? ORDER BY time", (endpoint,)
        )
        return [{"name": n, "message": m} for n, m in rows]


@contextmanager
def load(
    platform: Platform, endpoint: str, *, seconds: float = 60.0, limit: int = 20000
) -> Iterator[Counter[int]]:
    """Closed-loop load from two client threads until the block ends (bounded in time and count)."""
    key = platform.key(endpoint)
    uri = platform.json("online-endpoint", "show", "-n", endpoint)["scoring_uri"]
    results: Counter[int] = Counter()
    stop = threading.Event()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(trust_env=False, timeout=15) as http:
            while (
                not stop.is_set() and time.monotonic() < deadline and sum(results.values()) < limit
            ):
                try:
                    code = http.post(
                        uri, content=b"{}", headers={"Authorization": f"Bearer {key}"}
                    ).status_code
                except httpx.HTTPError:
                    code = -1
                results[code] += 1

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: sum(results.values()) > 20, timeout=30, what="load started")
        yield results
    finally:
        stop.set()
        for t in threads:
            t.join(30)


def test_killed_instance_is_replaced_and_recorded(platform: Platform, tmp_path: Path) -> None:
    deploy(platform, tmp_path, "crash-ep")
    before = ready_pids(platform, "crash-ep")
    os.kill(before[0], signal.SIGKILL)
    wait_for(
        lambda: len(set(ready_pids(platform, "crash-ep")) - set(before)) == 1,
        timeout=60,
        what="replacement",
    )
    names = [e["name"] for e in events(platform, "crash-ep")]
    assert "BackOff" in names and names.count("Started") >= 3
    assert (
        platform.json("online-deployment", "show", "-n", "blue", "-e", "crash-ep")[
            "provisioning_state"
        ]
        == "Succeeded"
    )
    platform.run("online-endpoint", "delete", "-n", "crash-ep", "-y")


def test_frozen_instance_fails_liveness_and_is_restarted(
    platform: Platform, tmp_path: Path
) -> None:
    deploy(platform, tmp_path, "frozen-ep", count=1)
    [pid] = ready_pids(platform, "frozen-ep")
    os.kill(pid, signal.SIGSTOP)  # alive but unresponsive: only the probes can tell
    try:
        wait_for(
            lambda: any(p != pid for p in ready_pids(platform, "frozen-ep")),
            timeout=60,
            what="restart",
        )
    finally:
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGKILL)
    messages = [(e["name"], e["message"]) for e in events(platform, "frozen-ep")]
    assert any(n == "LivenessProbeFailed" for n, _ in messages)
    assert (
        "Killing",
        "Container inference-server failed liveness probe, will be restarted",
    ) in messages
    platform.run("online-endpoint", "delete", "-n", "frozen-ep", "-y")


def test_rolling_update_under_load_fails_no_request(platform: Platform, tmp_path: Path) -> None:
    deploy(platform, tmp_path, "roll-ep", count=2)
    before = ready_pids(platform, "roll-ep")
    with load(platform, "roll-ep") as results:
        platform.run(
            "online-deployment",
            "update",
            "-n",
            "blue",
            "-e",
            "roll-ep",
            "--set",
            "environment_variables.GREETING=v2",
        )
        after = ready_pids(platform, "roll-ep")
    assert not set(before) & set(after) and len(after) == 2
    assert set(results) == {200}, results
    greeting = platform.score("roll-ep", b"{}", key=platform.key("roll-ep")).json()["greeting"]
    assert greeting == "v2"
    platform.run("online-endpoint", "delete", "-n", "roll-ep", "-y")


def test_control_plane_death_fails_no_request_and_instances_are_adopted(
    platform: Platform, tmp_path: Path
) -> None:
    deploy(platform, tmp_path, "adopt-ep", count=2)
    before = ready_pids(platform, "adopt-ep")
    control_plane = platform.server()["processes"]["control-plane"]["pid"]
    with load(platform, "adopt-ep", seconds=30) as results:
        os.kill(control_plane, signal.SIGKILL)
        wait_for(
            lambda: (
                not psutil.pid_exists(control_plane)
                or psutil.Process(control_plane).status() == psutil.STATUS_ZOMBIE
            ),
            what="control plane gone",
        )
        served = sum(results.values())
        wait_for(
            lambda: sum(results.values()) > served + 50,
            timeout=30,
            what="serving without a control plane",
        )
        platform.run("up")  # brings the control plane back; the router kept running
    assert set(results) == {200}, results
    assert platform.server()["processes"]["control-plane"]["pid"] != control_plane
    assert ready_pids(platform, "adopt-ep") == before  # adopted, not restarted
    platform.run("online-endpoint", "delete", "-n", "adopt-ep", "-y")


def test_out_of_quota_names_the_numbers_and_creates_nothing(
    platform: Platform, tmp_path: Path
) -> None:
    platform.run("online-endpoint", "create", "-n", "quota-ep")
    spec = tmp_path / "big.yml"
    spec.write_text(
        f"name: big\nendpoint_name: quota-ep\ncode_configuration:\n  code: {CODE}\n  scoring_script: score.py\n"
        "instance_type: Standard_F72s_v2\ninstance_count: 3\n"
    )
    done = platform.run("online-deployment", "create", "-f", str(spec), check=False)
    assert done.returncode != 0
    assert (
        "quota" in done.stderr
        and "Standard_F72s_v2" in done.stderr
        and "--quota-vcpus" in done.stderr
    )
    assert platform.json("online-deployment", "list", "-e", "quota-ep") == []
    platform.run("online-endpoint", "delete", "-n", "quota-ep", "-y")


def test_memory_limit_restarts_the_instance_with_an_oom_event(
    platform: Platform, tmp_path: Path
) -> None:
    deploy(
        platform,
        tmp_path,
        "oom-ep",
        count=1,
        extra="environment_variables:\n  SWITCHMAN_MEMORY_LIMIT_MIB: '200'\n",
    )
    [pid] = ready_pids(platform, "oom-ep")
    key = platform.key("oom-ep")
    platform.score("oom-ep", json.dumps({"allocate_mib": 300}).encode(), key=key)
    wait_for(
        lambda: ready_pids(platform, "oom-ep") not in ([], [pid]),
        timeout=60,
        what="restart after OOM",
    )
    assert any(
        e["name"] == "OOMKilled" and "200 MiB" in e["message"] for e in events(platform, "oom-ep")
    )
    platform.run("online-endpoint", "delete", "-n", "oom-ep", "-y")
