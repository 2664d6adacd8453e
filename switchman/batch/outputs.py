"""Where a job's results and logs live, and how the output file is merged.

A mini-batch's rows are stored in the state database (``batch_results``, one row per try) in the
same transaction that marks it done, so nothing counts before it is durable. The output file is
the concatenation of the done mini-batches' rows (their counted try only) in index order, written
to a temporary name and renamed into place, so every item appears exactly once whatever was killed
and restarted on the way.

``$SWITCHMAN_HOME/jobs/<job>/``:
  logs/...        error logs of the reference §4.6 layout, appended as failures come
  driver.log      the scheduler's own account (azureml-logs/70_driver_log.txt)
  workers/<id>/   one folder per worker process (worker.json, stdout.txt, stderr.txt)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from switchman.compute.backend import Handle
from switchman.home import Home


def job_dir(home: Home, job: str) -> Path:
    return home.root / "jobs" / job


def append_log(home: Home, job: str, relative: str, text: str) -> None:
    path = job_dir(home, job) / "logs" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")


def merge(results: Iterable[str], target: Path) -> int:
    """Write the done mini-batches' rows (in index order) to ``target`` via a temporary file and a
    rename; return the number of rows."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.merging")
    rows = 0
    with open(tmp, "w") as out:
        for text in results:
            rows += text.count("\n")
            out.write(text)
    os.replace(tmp, target)
    return rows


def stamp(now: float | None = None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now if now is not None else time.time()))


def progress_overview(view: dict[str, Any]) -> str:
    """``logs/job_progress_overview.txt``: what was created, processed, and how it ended."""
    p = view["progress"]
    lines = [
        f"{stamp(view.get('ended_at') or None)}: Job {view['name']} ({view['status']})",
        f"Total mini batches: {p['mini_batches_total']}",
        f"Processed mini batches: {p['mini_batches_completed'] + p['mini_batches_failed']}",
        f"Succeeded mini batches: {p['mini_batches_completed']}",
        f"Failed mini batches: {p['mini_batches_failed']}",
        f"Items succeeded: {p['items_succeeded']}, items failed: {p['items_failed']}",
    ]
    error = view.get("error")
    if error:
        lines.append(f"The job failed: {error.get('message')} (see logs/user/error.txt)")
    elif view["status"] == "Completed":
        lines.append("The job completed successfully.")
    return "\n".join(lines) + "\n"


def log_tree(
    home: Home,
    job: str,
    view: dict[str, Any],
    workers: list[tuple[str, int, str]],
    read: Callable[[Handle, str, int], str],
    tries: list[dict[str, Any]] | None = None,
    where: dict[str, str] | None = None,
) -> dict[str, bytes]:
    """The ``logs/`` tree of `job download --all` (reference §4.6), path → content.

    Args:
        workers: (node, process index, handle JSON) of every worker the job ran, oldest first.
        read: the compute backend's ``read_log(handle, "stdout"|"stderr", lines)`` (workers on
            other nodes keep their logs there).
    """
    tree: dict[str, bytes] = {"logs/job_progress_overview.txt": progress_overview(view).encode()}
    logs = job_dir(home, job) / "logs"
    if logs.is_dir():
        for path in sorted(logs.rglob("*")):
            if path.is_file():
                tree[str(Path("logs") / path.relative_to(logs))] = path.read_bytes()
    tree.setdefault("logs/user/error.txt", b"")
    stats: dict[str, list[str]] = {}
    for t in tries or []:
        key = f"logs/sys/node/{(where or {}).get(t['worker'], t['worker'])}.txt"
        outcome = "succeeded" if t["ok"] else "failed"
        stats.setdefault(key, []).append(
            f"mini-batch {t['idx']} attempt {t['attempt']}: {outcome}; items total {t['total']}, "
            f"succeeded {t['items']}, failed {t['total'] - t['items']}; {t['took_ms']:.1f} ms\n"
        )
    for key, lines in stats.items():
        tree[key] = "".join(lines).encode()
    stdout: dict[str, list[str]] = {}
    for node, slot, handle in workers:
        found = Handle.from_json(handle)
        key = f"logs/user/stdout/{node}/process{slot}.stdout.txt"
        stdout.setdefault(key, []).append(read(found, "stdout", 1_000_000))
        sys_key = f"logs/sys/node/{node}/process{slot}.stderr.txt"
        stdout.setdefault(sys_key, []).append(read(found, "stderr", 1_000_000))
    for key, parts in stdout.items():
        tree[key] = "".join(parts).encode()
    driver = job_dir(home, job) / "driver.log"
    tree["azureml-logs/70_driver_log.txt"] = driver.read_bytes() if driver.exists() else b""
    tree["logs/sys/master_role.txt"] = tree["azureml-logs/70_driver_log.txt"]
    return tree
