"""A running Switchman platform for integration tests: `switchman up` in a temporary home.

Everything goes through the real CLI and real processes on 127.0.0.1; `switchman down` (and a
kill of every recorded pid) stops it whatever the test did.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from switchman.client import Client
from switchman.home import Home

SWITCHMAN = [sys.executable, "-m", "switchman"]


@dataclass
class Platform:
    home: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SWITCHMAN_HOME": str(self.home)}

    def run(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*SWITCHMAN, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"switchman {' '.join(args)} exited {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
            )
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)

    def client(self) -> Client:
        return Client.from_home(Home(self.home))

    def server(self) -> dict[str, Any]:
        return dict(json.loads((self.home / "server.json").read_text()))

    def key(self, endpoint: str) -> str:
        return str(self.json("online-endpoint", "get-credentials", "-n", endpoint)["primaryKey"])

    def score(
        self,
        endpoint: str,
        body: bytes,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        local: bool = False,
    ) -> httpx.Response:
        where = ("--local",) if local else ()
        uri = self.json("online-endpoint", "show", "-n", endpoint, *where)["scoring_uri"]
        sent = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        return httpx.post(uri, content=body, headers=sent, timeout=30, trust_env=False)


def recorded_pids(home: Path) -> list[int]:
    pids: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        server = json.loads((home / "server.json").read_text())
        pids += [p["pid"] for p in server.get("processes", {}).values() if p.get("pid")]
    db = home / "state.db"
    if db.exists():
        import sqlite3

        with (
            contextlib.closing(sqlite3.connect(db, timeout=10)) as conn,
            contextlib.suppress(sqlite3.Error),
        ):
            pids += [r[0] for r in conn.execute("SELECT pid FROM instances WHERE pid IS NOT NULL")]
    # Every process the local backend started (instances and batch workers) is in its registry.
    for entry in (home / "compute" / "local").glob("*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            pids.append(int(json.loads(entry.read_text())["data"]["pid"]))
    return pids


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


@contextlib.contextmanager
def running_platform(home: Path, *extra: str) -> Iterator[Platform]:
    platform = Platform(home)
    started_pids: list[int] = []
    try:
        platform.run("up", "--port", "0", "--api-port", "0", *extra)
        started_pids = recorded_pids(home)
        yield platform
    finally:
        platform.run("down", check=False, timeout=120)
        leftovers = [p for p in set(started_pids + recorded_pids(home)) if psutil.pid_exists(p)]
        kill_all(leftovers)
