"""Batch fixtures: a compute cluster, a batch endpoint and deployment, folders of number files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.support.platform import Platform

TESTDATA = Path(__file__).resolve().parent.parent / "testdata" / "batch"


def numbers(
    folder: Path, count: int, *, start: int = 1, extra: dict[str, str] | None = None
) -> Path:
    """``count`` files f<i>.txt holding i (plus ``extra`` name → content), returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        (folder / f"f{i:04d}.txt").write_text(f"{i}\n")
    for name, content in (extra or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return folder


def project(tmp: Path) -> Path:
    """A copy of testdata/batch (YAML + code + model) that tests may edit."""
    target = tmp / "batch-project"
    if not target.exists():
        shutil.copytree(TESTDATA, target)
    return target


def deploy(platform: Platform, folder: Path, *sets: str, name: str = "doubler") -> None:
    """Cluster, endpoint `numbers`, and deployment ``name`` (the default) with ``--set`` items."""
    if platform.run("compute", "show", "-n", "batch-cluster", check=False).returncode != 0:
        platform.run("compute", "create", "-f", str(folder / "compute.yml"), "-o", "none")
    if platform.run("batch-endpoint", "show", "-n", "numbers", check=False).returncode != 0:
        platform.run("batch-endpoint", "create", "-f", str(folder / "endpoint.yml"), "-o", "none")
    args = ["batch-deployment", "create", "-f", str(folder / "deployment.yml"), "-n", name]
    for item in sets:
        args += ["--set", item]
    platform.run(*args, "--set-default", "-o", "none")


def invoke(platform: Platform, data: Path | str, *flags: str) -> str:
    return platform.run(
        "batch-endpoint",
        "invoke",
        "-n",
        "numbers",
        "--input",
        str(data),
        *flags,
        "--query",
        "name",
        "-o",
        "tsv",
    ).stdout.strip()


def wait(platform: Platform, job: str, timeout: float = 120.0) -> dict[str, Any]:
    with platform.client() as c:
        return c.wait_job(job, timeout=timeout)


def predictions(platform: Platform, job: str, target: Path) -> list[list[str]]:
    platform.run(
        "job", "download", "-n", job, "--output-name", "score", "--download-path", str(target)
    )
    text = (target / "named-outputs" / "score" / "predictions.csv").read_text()
    return [line.split(",") for line in text.splitlines()]


def worker_pids(home: Path, job: str) -> list[int]:
    """Pids of every worker process the local backend started for ``job`` (from its registry)."""
    import json

    folder = str(home / "jobs" / job / "workers")
    pids = []
    for entry in (home / "compute" / "local").glob("*.json"):
        data = json.loads(entry.read_text())["data"]
        if str(data.get("dir", "")).startswith(folder):
            pids.append(int(data["pid"]))
    return pids


def running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
