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
HELD_AFTER = 6  # files f0001..f0006 (two mini-batches of 3) run; the rest wait for the hold file


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, platform: Platform) -> Path:
    target = project(tmp_path_factory.mktemp("batch"))
    deploy(platform, target)
    return target


def _start_held(platform: Platform, tmp_path: Path) -> tuple[str, Path]:
    """A job that finishes two mini-batches and then waits (mid-job) until ``hold`` is removed."""
    hold = tmp_path / "hold"
    hold.write_text("")
    job = invoke(
        platform, numbers(tmp_path / "data", FILES),
        "--set", f"environment_variables.HOLD_FILE={hold}",
        "--set", f"environment_variables.HOLD_AFTER={HELD_AFTER}",
        "--set", "timeout=300",
    )  # fmt: skip
    with platform.client() as c:
        wait_for(
            lambda: c.get_job(job)["progress"]["mini_batches_completed"] == 2,
            timeout=120,
            what="the two mini-batches the hold lets through",
        )
        assert c.get_job(job)["status"] == "Running"
    return job, hold


def _exactly_once(platform: Platform, job: str, out: Path) -> None:
    rows = predictions(platform, job, out)
    counts = Counter(r[0] for r in rows)
    assert sorted(counts) == [f"f{i:04d}.txt" for i in range(1, FILES + 1)]
    assert set(counts.values()) == {1}, [n for n, c in counts.items() if c > 1]


def test_kill_9_of_the_control_plane_mid_job(
    platform: Platform, folder: Path, tmp_path: Path
) -> None:
    job, hold = _start_held(platform, tmp_path)
    control_plane = platform.server()["processes"]["control-plane"]["pid"]
    os.killpg(control_plane, signal.SIGKILL)
    wait_for(lambda: not running(control_plane), what="the control plane to die")
    platform.run("up")  # the router still runs; a new control plane adopts the workers
    hold.unlink()
    view = wait(platform, job)
    assert view["status"] == "Completed", view.get("error")
    _exactly_once(platform, job, tmp_path / "out")


def test_kill_9_of_workers_mid_job(platform: Platform, folder: Path, tmp_path: Path) -> None:
    job, hold = _start_held(platform, tmp_path)
    victims = [p for p in worker_pids(platform.home, job) if running(p)]
    assert victims
    for pid in victims:  # the node's processes all die at once
        os.killpg(pid, signal.SIGKILL)
    with platform.client() as c:  # replacements start, and wait for the hold like the victims
        wait_for(lambda: len(c.get_job(job)["workers"]) == 2 and not set(
            w["pid"] for w in c.get_job(job)["workers"]) & set(victims), timeout=60,
            what="replacement workers")  # fmt: skip
    hold.unlink()
    view = wait(platform, job)
    assert view["status"] == "Completed", view.get("error")
    assert len(worker_pids(platform.home, job)) > len(victims)  # replaced
    _exactly_once(platform, job, tmp_path / "out")


def test_down_pauses_and_up_resumes(platform: Platform, folder: Path, tmp_path: Path) -> None:
    job, hold = _start_held(platform, tmp_path)
    first = worker_pids(platform.home, job)
    platform.run("down")
    assert not any(running(p) for p in first)  # down stopped the job's workers
    from switchman.batch.store import BatchStore

    store = BatchStore(platform.home / "state.db")  # the platform is down: read the store
    try:
        assert store.get_job(job).status == "Paused"
        assert store.counts(job)["leased"] == 0  # leases given back, uncounted
    finally:
        store.close()
    platform.run("up")
    hold.unlink()
    view = wait(platform, job)
    assert view["status"] == "Completed", view.get("error")
    driver = (platform.home / "jobs" / job / "driver.log").read_text()
    assert "paused (switchman down)" in driver and "resumed (switchman up)" in driver
    _exactly_once(platform, job, tmp_path / "out")
