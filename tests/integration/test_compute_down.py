"""`switchman down` leaves no instance process behind: not ready ones, not still-starting ones, not
ones its control plane never recorded — the compute backend sweeps what it started."""

from __future__ import annotations

import os
import signal
import sqlite3
from contextlib import closing
from pathlib import Path

import psutil
import pytest

from tests.support.platform import running_platform
from tests.support.proc import wait_for

pytestmark = pytest.mark.integration

CODE = Path(__file__).resolve().parent.parent / "testdata" / "healing" / "code"


def processes_of(home: Path) -> list[psutil.Process]:
    """Every live process started for this home (they all inherit SWITCHMAN_HOME)."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("SWITCHMAN_HOME") == str(home) and (
                proc.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def instance_processes(home: Path) -> list[psutil.Process]:
    return [p for p in processes_of(home) if "SWITCHMAN_INSTANCE_ID" in _environ(p)]


def _environ(proc: psutil.Process) -> dict[str, str]:
    try:
        return proc.environ()
    except psutil.Error:
        return {}


def deploy_slow(platform, tmp_path: Path, count: int) -> None:
    spec = tmp_path / "slow.yml"
    spec.write_text(
        f"name: blue\nendpoint_name: slow\ncode_configuration:\n  code: {CODE}\n"
        f"  scoring_script: score.py\ninstance_type: Standard_DS2_v2\ninstance_count: {count}\n"
        "environment_variables:\n  INIT_SLEEP_S: '120'\n"
    )
    platform.run("online-endpoint", "create", "-n", "slow")
    platform.run("online-deployment", "create", "-f", str(spec), "--no-wait")


def test_down_stops_instances_that_are_still_starting(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with running_platform(home) as platform:
        deploy_slow(platform, tmp_path, count=2)
        # Both runtimes are inside init() (the script sleeps): started, never ready.
        wait_for(
            lambda: (
                len([p for p in instance_processes(home) if "switchman.runtime" in p.cmdline()])
                == 2
            ),
            timeout=60,
            what="two instance runtimes in init()",
        )
        view = platform.json("online-deployment", "show", "-n", "blue", "-e", "slow")
        assert {i["state"] for i in view["instances"]} == {"Starting"}
        result = platform.json("down")
        assert result["instances_stopped"] == 2
        # Nothing is left: no runtime re-parented to pid 1, no launcher, no platform process.
        assert processes_of(home) == []


def test_down_without_a_control_plane_stops_what_the_backend_started(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with running_platform(home) as platform:
        deploy_slow(platform, tmp_path, count=1)
        runtime = wait_for(
            lambda: next(
                (p for p in instance_processes(home) if "switchman.runtime" in p.cmdline()), None
            ),
            timeout=60,
            what="the instance runtime in init()",
        )
        # The control plane dies without stopping anything (a crash, an OOM kill) ...
        control_plane = platform.server()["processes"]["control-plane"]["pid"]
        os.killpg(control_plane, signal.SIGKILL)
        wait_for(lambda: not psutil.pid_exists(control_plane) or _zombie(control_plane))
        assert runtime.is_running()
        # ... and `down` still finds the instance through the compute backend.
        result = platform.json("down")
        assert result["instances_stopped"] == 1
        assert processes_of(home) == []


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def test_down_stops_an_instance_the_store_lost(tmp_path: Path) -> None:
    """An instance started by a reconciler pass racing the shutdown may never reach the store's
    list that `down` walks; the backend's own record of what it started still finds it."""
    home = tmp_path / "home"
    with running_platform(home) as platform:
        deploy_slow(platform, tmp_path, count=1)
        wait_for(
            lambda: [p for p in instance_processes(home) if "switchman.runtime" in p.cmdline()],
            timeout=60,
            what="the instance runtime in init()",
        )
        control_plane = platform.server()["processes"]["control-plane"]["pid"]
        os.killpg(control_plane, signal.SIGKILL)
        wait_for(lambda: not psutil.pid_exists(control_plane) or _zombie(control_plane))
        with closing(sqlite3.connect(home / "state.db", timeout=10)) as conn, conn:
            conn.execute("DELETE FROM instances")
        result = platform.json("down")
        assert result["instances_stopped"] == 1
        assert processes_of(home) == []
