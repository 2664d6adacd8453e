"""Router operations: graceful SIGTERM, and `switchman monitor` over the router's tables."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.proc import wait_for
from tests.support.router import AUTH, deployment, endpoint, router, upstreams

pytestmark = pytest.mark.integration


def test_sigterm_drains_in_flight_requests_and_exits_0(tmp_path: Path) -> None:
    with upstreams(tmp_path, "u1") as ups, router(tmp_path / "home") as r:
        r.publish({"ep": endpoint({"blue": deployment(ups["u1"].entry())}, {"blue": 100})})
        result: dict[str, Any] = {}

        def call() -> None:
            resp = httpx.post(
                f"{r.url}/endpoints/ep/score", json={"sleep": 0.8}, headers=AUTH, timeout=10
            )
            result["status"] = resp.status_code

        thread = threading.Thread(target=call)
        thread.start()
        wait_for(lambda: ups["u1"].stats()["active"] == 1, timeout=10, what="request running")
        os.kill(r.proc.pid, signal.SIGTERM)
        assert r.proc.wait(10) == 0
        thread.join(10)
        assert result["status"] == 200


def _monitor(home: Path, *args: str) -> Any:
    env = {**os.environ, "SWITCHMAN_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "switchman", "monitor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_monitor_commands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with upstreams(tmp_path, "u1") as ups, router(home, "--metrics-interval", "0.5") as r:
        r.publish({"ep": endpoint({"blue": deployment(ups["u1"].entry())}, {"blue": 100})})
        ids = [
            httpx.post(f"{r.url}/endpoints/ep/score", json={}, headers=AUTH).headers["x-request-id"]
            for _ in range(3)
        ]
        wait_for(
            lambda: len(_monitor(home, "traffic-log", "-e", "ep", "--since", "5m")) >= 3,
            timeout=15,
            what="traffic log rows",
        )
        rows = _monitor(home, "traffic-log", "-e", "ep", "-d", "blue")
        assert {row["XRequestId"] for row in rows} >= set(ids)
        assert all(
            row["ResponseCode"] == 200 and row["TimeGenerated"].endswith("Z") for row in rows
        )
        assert _monitor(home, "traffic-log", "-e", "ep", "-d", "green") == []

        records = wait_for(
            lambda: [
                m
                for m in _monitor(home, "metrics", "-e", "ep", "-o", "json")
                if m["name"] == "RequestsPerMinute"
            ],
            timeout=15,
            what="a metrics roll-up",
        )
        assert {"name", "deployment", "value", "timestamp"} <= set(records[0])
        assert (
            records[0]["deployment"] == "blue" and records[0]["dimensions"]["statusCode"] == "200"
        )

        with sqlite3.connect(home / "state.db") as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS events (time REAL, endpoint TEXT, deployment TEXT, instance TEXT, "
                "name TEXT, message TEXT)"
            )
            conn.execute(
                "INSERT INTO events VALUES (?, 'ep', 'blue', 'blue-1', 'Started', 'Started container inference-server')",
                (time.time(),),
            )
        events = _monitor(home, "events", "-e", "ep", "-d", "blue")
        assert [(e["name"], e["instance"]) for e in events] == [("Started", "blue-1")]

        counted = _monitor(
            home,
            "query",
            "SELECT DeploymentName, count(*) AS n FROM AmlOnlineEndpointTrafficLog GROUP BY DeploymentName",
        )
        assert counted == [{"DeploymentName": "blue", "n": 3}]
        names = _monitor(
            home, "query", "SELECT Name FROM AmlOnlineEndpointEventLog", "--query", "[].Name"
        )
        assert names == ["Started"]
        failed = subprocess.run(
            [sys.executable, "-m", "switchman", "monitor", "query", "DELETE FROM traffic_log"],
            env={**os.environ, "SWITCHMAN_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (
            failed.returncode == 1
            and "readonly" in failed.stderr
            and "Traceback" not in failed.stderr
        )
