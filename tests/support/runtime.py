"""Helpers for runtime tests: start a real runtime process on loopback, load it, measure it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.proc import free_port, start_process, stop_process, wait_for

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "tests" / "testdata" / "runtime"


@dataclass
class RuntimeProcess:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def runtime_env(script: Path, tmp: Path, **extra: str) -> dict[str, str]:
    model_dir = tmp / "model"
    model_dir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "AZUREML_ENTRY_SCRIPT": str(script),
        "AML_APP_ROOT": str(script.parent),
        "AZUREML_MODEL_DIR": str(model_dir),
        "WORKER_COUNT": "1",
        "SWITCHMAN_STATUS_FILE": str(tmp / "status.json"),
        "PYTHONPATH": str(REPO),
    }
    env.update(extra)
    return env


@contextmanager
def running_runtime(
    script: Path, tmp: Path, *, wait: bool = True, **extra: str
) -> Iterator[RuntimeProcess]:
    """Run ``python -m switchman.runtime`` for ``script``; stop its process group afterwards."""
    port = free_port()
    log = tmp / f"runtime-{port}.log"
    with open(log, "wb") as fh:
        proc = start_process(
            [sys.executable, "-m", "switchman.runtime", "--host", "127.0.0.1", "--port", str(port)],
            env=runtime_env(script, tmp, **extra),
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=str(tmp),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        if wait:
            wait_for(
                lambda: (
                    (proc.poll() is None and httpx.get(url + "/", timeout=1).status_code == 200)
                    or (proc.poll() is not None and _fail(log))
                ),
                timeout=30,
                what=f"runtime for {script.name} to answer GET /",
            )
        yield RuntimeProcess(proc, url, log)
    finally:
        stop_process(proc)


def _fail(log: Path) -> bool:
    raise AssertionError(f"runtime exited during startup:\n{log.read_text(errors='replace')}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(
    host: str, port: int, request: bytes, count: int, conns: int, deadline: float
) -> int:
    done = 0

    async def one() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while done < count and time.monotonic() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 200"):
                    raise AssertionError(head.decode())
                done += 1
        finally:
            writer.close()

    await asyncio.gather(*(one() for _ in range(conns)))
    return done


def measure(
    url: str, pid: int, *, count: int = 3000, conns: int = 4, seconds: float = 20.0
) -> dict[str, float]:
    """Bounded keep-alive load on POST /score; returns server CPU µs/request and req/s."""
    host, port = url.removeprefix("http://").split(":")
    body = b'{"data": [[1, 2, 3, 4]]}'
    request = (
        b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    asyncio.run(_load(host, int(port), request, 200, conns, time.monotonic() + seconds))  # warm-up
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    done = asyncio.run(_load(host, int(port), request, count, conns, time.monotonic() + seconds))
    cpu1, t1 = cpu_seconds(pid), time.perf_counter()
    return {
        "requests": done,
        "server_cpu_us_per_request": (cpu1 - cpu0) / done * 1e6,
        "requests_per_second": done / (t1 - t0),
    }
