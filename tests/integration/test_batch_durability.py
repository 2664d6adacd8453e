"""Durability of batch jobs: kill -9 of the control plane or of workers, and down/up, mid-job.

Each test checks the output holds every input item exactly once: no item lost, none written twice.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest

from tests.support.batch import (
    deploy,
    invoke,
    numbers,
    predictions,
    project,
    running,
    wait,
    worker_pids,
)
from tests.support.platform import Platform
from tests.support.proc import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FILES = 60
SLOW = "environment_variables.SLEEP_PER_FILE=0.05"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, platform: Platform) -> Path:
    target = project(tmp_path_factory.mktemp("batch"))
    deploy(platform, target)
    return target


def _mid_job(platform: Platform, job: str) -> bool:
    """At least two mini-batches done, and the job still far from its end."""
    progress = platform.json("job", "show", "-n", job)["progress"]
    done = int(progress["mini_batches_completed"])
    if done >= 2:
        assert done < progress["mini_batches_total"], "the job ended before the test could act"
        return True
    return False


def _exactly_once(platform: Platform, job: str, out: Path) -> None:
    rows = predictions(platform, job, out)
    counts = Counter(r[0] for r in rows)
    assert sorted(counts) == [f"f{i:04d}.txt" for i in range(1, FILES + 1)]
    assert set(counts.values()) == {1}, [n for n, c in counts.items() if c > 1]


def test_kill_9_of_the_control_plane_mid_job(
    platform: Platform, folder: Path, tmp_path: Path
) -> None:
    job = invoke(platform, numbers(tmp_path / "data", FILES), "--set", SLOW)
    wait_for(lambda: _mid_job(platform, job), what="two finished mini-batches")
    control_plane = platform.server()["processes"]["control-plane"]["pid"]
    os.killpg(control_plane, signal.SIGKILL)
    wait_for(lambda: not running(control_plane), what="the control plane to die")
    platform.run("up")  # the router still runs; a new control plane adopts the workers
    view = wait(platform, job)
    assert view["status"] == "Completed", view.get("error")
    _exactly_once(platform, job, tmp_path / "out")


def test_kill_9_of_workers_mid_job(platform: Platform, folder: Path, tmp_path: Path) -> None:
    job = invoke(platform, numbers(tmp_path / "data", FILES), "--set", SLOW)
    wait_for(lambda: _mid_job(platform, job), what="two finished mini-batches")
    victims = [p for p in worker_pids(platform.home, job) if running(p)]
    assert victims
    for pid in victims:  # the node's processes all die at once
        os.killpg(pid, signal.SIGKILL)
    view = wait(platform, job)
    assert view["status"] == "Completed", view.get("error")
    assert len(worker_pids(platform.home, job)) > len(victims)  # replaced
    _exactly_once(platform, job, tmp_path / "out")


def test_down_pauses_and_up_resumes(platform: Platform, folder: Path, tmp_path: Path) -> None:
    job = invoke(platform, numbers(tmp_path / "data", FILES), "--set", SLOW)
    wait_for(lambda: _mid_job(platform, job), what="two finished mini-batches")
    first = worker_pids(platform.home, job)
    platform.run("down")
    assert not any(running(p) for p in first)  # down stopped the job's workers
    platform.run("up")
    assert platform.json("job", "show", "-n", job)["status"] in (
        "Queued",
        "Provisioning",
        "Starting",
        "Running",
        "Completed",
    )
    view = wait(platform, job)
    assert view["status"] == "Completed", view.get("error")
    driver = (platform.home / "jobs" / job / "driver.log").read_text()
    assert "paused (switchman down)" in driver and "resumed (switchman up)" in driver
    _exactly_once(platform, job, tmp_path / "out")
