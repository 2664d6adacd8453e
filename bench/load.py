"""Load generation with wrk (installed on demand) and CPU accounting from /proc/<pid>/stat."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

TICKS = os.sysconf("SC_CLK_TCK")


def ensure_wrk() -> str:
    """Path of wrk, installing it with apt-get when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "wrk"], check=False, capture_output=True, timeout=300
        )
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "bench needs wrk: install it (apt-get install -y wrk) and run `make bench` again."
    )


def pin(core: int) -> list[str]:
    """``taskset -c core`` prefix on machines with at least two cores (else nothing)."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(core)]
    return []


def tree_cpu_seconds(pids: list[int]) -> float:
    """utime+stime (+ reaped children) of the processes and all their descendants."""
    seen: set[int] = set()
    for pid in pids:
        seen.add(pid)
        with contextlib.suppress(psutil.Error):
            seen.update(c.pid for c in psutil.Process(pid).children(recursive=True))
    total = 0
    for pid in seen:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / TICKS


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_us_per_request: float
    part_cpu_us_per_request: float = float("nan")  # of ``part_pids`` alone (e.g. the router)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    connections: int,
    seconds: int,
    workdir: Path,
    server_pids: list[int],
    part_pids: list[int] | None = None,
) -> LoadResult:
    """One bounded wrk run (one thread, ``connections`` keep-alive connections, ``seconds`` long)."""
    script = workdir / "post.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{body.decode()}]==]"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    before = tree_cpu_seconds(server_pids)
    part_before = tree_cpu_seconds(part_pids) if part_pids else 0.0
    done = subprocess.run(
        [
            *pin(1),
            ensure_wrk(),
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    cpu = tree_cpu_seconds(server_pids) - before
    part = tree_cpu_seconds(part_pids) - part_before if part_pids else float("nan")
    out = done.stdout
    if "Requests/sec" not in out or done.stderr.strip():
        raise SystemExit(f"bench: wrk failed against {url}: {done.stderr.strip() or out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"\s50%\s+(\S+)", out)
    p99 = re.search(r"\s99%\s+(\S+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return LoadResult(
        rps=rps,
        p50_ms=_ms(p50.group(1)) if p50 else float("nan"),
        p99_ms=_ms(p99.group(1)) if p99 else float("nan"),
        requests=requests,
        errors=errors,
        cpu_us_per_request=cpu * 1e6 / max(1, requests),
        part_cpu_us_per_request=part * 1e6 / max(1, requests),
    )
