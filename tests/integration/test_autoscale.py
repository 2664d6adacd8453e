"""Autoscale on loopback (issue #12): load-driven scale-out and scale-in, enable/disable, a
schedule profile, a control-plane restart with a setting in force, and scale to zero with a held
request — real processes, real HTTP on 127.0.0.1, real SQLite. Windows and cooldowns are seconds."""

from __future__ import annotations

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

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CODE = Path(__file__).resolve().parent.parent / "testdata" / "healing" / "code"
ALL_DAYS = ["week", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def deploy(platform: Platform, tmp_path: Path, endpoint: str, *, count: int = 1) -> str:
    spec = tmp_path / f"{endpoint}.yml"
    spec.write_text(
        f"name: blue\nendpoint_name: {endpoint}\ncode_configuration:\n  code: {CODE}\n"
        f"  scoring_script: score.py\ninstance_type: Standard_DS2_v2\ninstance_count: {count}\n"
        "request_settings:\n  max_concurrent_requests_per_instance: 2\n  request_timeout_ms: 15000\n"
    )
    platform.run("online-endpoint", "create", "-n", endpoint)
    platform.run("online-deployment", "create", "-f", str(spec), "--all-traffic")
    return str(
        platform.run(
            "online-deployment", "show", "-e", endpoint, "-n", "blue", "-o", "tsv", "--query", "id"
        ).stdout.strip()
    )


def counts(platform: Platform, endpoint: str) -> tuple[int, int]:
    view = platform.json("online-deployment", "show", "-e", endpoint, "-n", "blue")
    return int(view["instance_count"]), sum(1 for i in view["instances"] if i["state"] == "Ready")


def events(platform: Platform, endpoint: str) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(platform.home / "state.db", timeout=10)) as conn:
        rows = conn.execute(
            "SELECT name, message FROM events WHERE endpoint=? ORDER BY time", (endpoint,)
        )
        return [(str(n), str(m)) for n, m in rows]


@contextmanager
def load(
    platform: Platform, endpoint: str, *, clients: int, sleep: float, seconds: float = 60.0
) -> Iterator[Counter[int]]:
    """Closed-loop load (each client waits for its answer), bounded in time and count."""
    key = platform.key(endpoint)
    uri = platform.json("online-endpoint", "show", "-n", endpoint)["scoring_uri"]
    body = f'{{"sleep": {sleep}}}'.encode()
    results: Counter[int] = Counter()
    stop = threading.Event()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(trust_env=False, timeout=30) as http:
            while (
                not stop.is_set() and time.monotonic() < deadline and sum(results.values()) < 5000
            ):
                try:
                    code = http.post(
                        uri, content=body, headers={"Authorization": f"Bearer {key}"}
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


def test_load_scales_out_and_back_in_and_disable_keeps_the_count(
    platform: Platform, tmp_path: Path
) -> None:
    dep_id = deploy(platform, tmp_path, "as-load")
    platform.run(
        "monitor",
        "autoscale",
        "create",
        "--name",
        "as-load",
        "--resource",
        dep_id,
        "--min-count",
        "1",
        "--max-count",
        "3",
        "--count",
        "1",
    )
    platform.run(
        "monitor",
        "autoscale",
        "rule",
        "create",
        "--autoscale-name",
        "as-load",
        "--condition",
        "ConcurrentRequestsPerInstance > 1 avg 3s",
        "--scale",
        "target",
        "--cooldown",
        "3s",
    )
    with load(platform, "as-load", clients=4, sleep=0.2) as results:
        wait_for(
            lambda: counts(platform, "as-load") == (3, 3), timeout=60, what="scale-out to 3 ready"
        )
    assert set(results) == {200}, results  # no request failed while instances were added
    # One client keeps going while the deployment scales in: draining instances fail nothing.
    with load(platform, "as-load", clients=1, sleep=0.1) as results:
        wait_for(lambda: counts(platform, "as-load") == (1, 1), timeout=60, what="scale-in to 1")
        wait_for(
            lambda: (
                len(
                    platform.json("online-deployment", "show", "-e", "as-load", "-n", "blue")[
                        "instances"
                    ]
                )
                == 1
            ),
            timeout=60,
            what="extra instances drained and stopped",
        )
    assert set(results) == {200} and sum(results.values()) > 5, results
    names = [n for n, _ in events(platform, "as-load")]
    assert "AutoscaleScaleOut" in names and "AutoscaleScaleIn" in names
    history = platform.json("monitor", "autoscale", "show", "-n", "as-load")["history"]
    assert (
        history[0]["oldCount"] == 1 and history[0]["metricName"] == "ConcurrentRequestsPerInstance"
    )

    platform.run(
        "monitor", "autoscale", "update", "--autoscale-name", "as-load", "--enabled", "false"
    )
    with load(platform, "as-load", clients=4, sleep=0.2, seconds=6) as results:
        wait_for(lambda: sum(results.values()) > 40, timeout=30, what="load while disabled")
    assert counts(platform, "as-load")[0] == 1  # disabled: nobody changed the count
    platform.run(
        "monitor", "autoscale", "update", "--autoscale-name", "as-load", "--enabled", "true"
    )
    with load(platform, "as-load", clients=4, sleep=0.2):
        wait_for(
            lambda: counts(platform, "as-load")[0] > 1, timeout=30, what="scale-out once enabled"
        )
    platform.run("monitor", "autoscale", "delete", "-n", "as-load")
    platform.run("online-endpoint", "delete", "-n", "as-load", "-y")


def test_schedule_profile_survives_a_control_plane_restart_and_falls_back(
    platform: Platform, tmp_path: Path
) -> None:
    dep_id = deploy(platform, tmp_path, "as-sched")
    platform.run(
        "monitor",
        "autoscale",
        "create",
        "--name",
        "as-sched",
        "--resource",
        dep_id,
        "--min-count",
        "1",
        "--max-count",
        "4",
        "--count",
        "1",
    )
    platform.run(
        "monitor",
        "autoscale",
        "profile",
        "create",
        "--autoscale-name",
        "as-sched",
        "--name",
        "everyday",
        "--min-count",
        "2",
        "--max-count",
        "2",
        "--count",
        "2",
        "--recurrence",
        *ALL_DAYS,
        "--timezone",
        "Pacific Standard Time",
    )
    wait_for(
        lambda: counts(platform, "as-sched") == (2, 2), timeout=60, what="schedule profile applied"
    )
    shown = platform.json("monitor", "autoscale", "show", "-n", "as-sched")
    assert shown["status"]["activeProfile"] == "everyday"
    assert shown["profiles"][1]["recurrence"]["schedule"]["timeZone"] == "Pacific Standard Time"

    control_plane = platform.server()["processes"]["control-plane"]["pid"]
    os.kill(control_plane, signal.SIGKILL)
    wait_for(
        lambda: (
            not psutil.pid_exists(control_plane)
            or psutil.Process(control_plane).status() == psutil.STATUS_ZOMBIE
        ),
        timeout=30,
        what="control plane gone",
    )
    platform.run("up")
    assert (
        platform.json("monitor", "autoscale", "show", "-n", "as-sched")["profiles"][1]["name"]
        == "everyday"
    )
    platform.run(
        "monitor",
        "autoscale",
        "profile",
        "delete",
        "--autoscale-name",
        "as-sched",
        "--name",
        "everyday",
    )
    wait_for(
        lambda: counts(platform, "as-sched") == (1, 1),
        timeout=60,
        what="back to the default profile",
    )

    bad = platform.run(
        "monitor",
        "autoscale",
        "update",
        "--autoscale-name",
        "as-sched",
        "--min-count",
        "5",
        check=False,
    )
    assert (
        bad.returncode != 0
        and "greater than --max-count" in bad.stderr
        and "Traceback" not in bad.stderr
    )
    bad = platform.run(
        "monitor",
        "autoscale",
        "rule",
        "create",
        "--autoscale-name",
        "as-sched",
        "--condition",
        "Nope > 1 avg 1m",
        "--scale",
        "out",
        "1",
        check=False,
    )
    assert bad.returncode != 0 and "Valid metrics" in bad.stderr
    assert (
        len(platform.json("monitor", "autoscale", "rule", "list", "--autoscale-name", "as-sched"))
        == 0
    )
    platform.run("online-endpoint", "delete", "-n", "as-sched", "-y")


def test_scale_to_zero_holds_the_waking_request(platform: Platform, tmp_path: Path) -> None:
    dep_id = deploy(platform, tmp_path, "as-zero")
    platform.run(
        "monitor",
        "autoscale",
        "create",
        "--name",
        "as-zero",
        "--resource",
        dep_id,
        "--min-count",
        "0",
        "--max-count",
        "2",
        "--count",
        "1",
        "--idle-window",
        "3s",
    )
    wait_for(
        lambda: (
            platform.json("online-deployment", "show", "-e", "as-zero", "-n", "blue")["instances"]
            == []
        ),
        timeout=60,
        what="idle → drained to zero instances",
    )
    assert counts(platform, "as-zero") == (0, 0)
    assert platform.json("online-endpoint", "show", "-n", "as-zero")["traffic"] == {"blue": 100}
    answer = platform.score("as-zero", b"{}", key=platform.key("as-zero"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["azureml-model-deployment"] == "blue"
    names = [n for n, _ in events(platform, "as-zero")]
    assert "ColdStart" in names or wait_for(
        lambda: "ColdStart" in [n for n, _ in events(platform, "as-zero")],
        timeout=10,
        what="ColdStart event",
    )

    def cold_latency() -> float | None:
        with closing(sqlite3.connect(platform.home / "state.db", timeout=10)) as conn:
            row = conn.execute(
                "SELECT value FROM metrics_fine WHERE endpoint='as-zero' AND name='ColdStartLatency'"
            ).fetchone()
        return float(row[0]) if row else None

    assert wait_for(cold_latency, timeout=10, what="ColdStartLatency metric") > 0
    platform.run("monitor", "autoscale", "delete", "-n", "as-zero")
    platform.run("online-endpoint", "delete", "-n", "as-zero", "-y")
