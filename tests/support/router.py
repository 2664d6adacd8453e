"""Helpers for router tests: start the router and stand-in instances as real processes, and write
``routes.json`` the way the control plane publishes it (docs/internals.md)."""

from __future__ import annotations

import hashlib
import json
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from switchman.home import write_private
from tests.support.proc import free_port, start_process, stop_process, wait_for

TESTDATA = Path(__file__).resolve().parent.parent / "testdata" / "router"
UPSTREAM = TESTDATA / "upstream.py"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class Upstream:
    """A running stand-in instance."""

    id: str
    port: int
    calls: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def entry(self, ready: bool = True) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "ready": ready, "pid": self.proc.pid}

    def call_ids(self) -> list[str]:
        return self.calls.read_text().split() if self.calls.exists() else []

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/stats", timeout=5).json())


@contextmanager
def upstreams(tmp: Path, *ids: str, delay: float = 0.0) -> Iterator[dict[str, Upstream]]:
    """Start one stand-in instance per id; stop them all afterwards."""
    started: dict[str, Upstream] = {}
    try:
        for ident in ids:
            port = free_port()
            calls = tmp / f"calls-{ident}.txt"
            proc = start_process(
                [
                    sys.executable,
                    str(UPSTREAM),
                    "--port",
                    str(port),
                    "--id",
                    ident,
                    "--calls",
                    str(calls),
                    "--delay",
                    str(delay),
                ]
            )
            started[ident] = Upstream(ident, port, calls, proc)
        for up in started.values():
            wait_for(_healthy(up.url), what=f"upstream {up.id}")
        yield started
    finally:
        for up in started.values():
            stop_process(up.proc)


def _healthy(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url + "/", timeout=1).status_code == 200


@dataclass
class RouterProcess:
    """A running router (``python -m switchman.dataplane``)."""

    home: Path
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    version: int = 0
    tables: list[dict[str, Any]] = field(default_factory=list)
    tls: ssl.SSLContext | None = None  # set: the router serves HTTPS, trusted through this

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        return self.tls or True

    def metrics_value(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` in /metrics whose labels include ``labels``."""
        from prometheus_client.parser import text_string_to_metric_families

        total = 0.0
        for family in text_string_to_metric_families(
            httpx.get(self.url + "/metrics", timeout=5, verify=self.verify).text
        ):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    total += sample.value
        return total

    def publish(
        self, endpoints: dict[str, Any], *, token_public_key: str | None = None, wait: bool = True
    ) -> int:
        """Write a new routes.json version and (by default) wait until the router serves it."""
        self.version += 1
        table: dict[str, Any] = {"version": self.version, "endpoints": endpoints}
        if token_public_key:
            table["token_public_key"] = token_public_key
        write_private(self.home / "routes.json", json.dumps(table))
        if wait:
            version = self.version
            wait_for(
                lambda: (
                    httpx.get(self.url + "/-/routes", timeout=2, verify=self.verify)
                    .json()
                    .get("version")
                    == version
                ),
                timeout=10,
                what=f"router to serve routes version {version}",
            )
        return self.version


@contextmanager
def router(home: Path, *extra: str, tls: ssl.SSLContext | None = None) -> Iterator[RouterProcess]:
    """Start the router on a free port for ``home``; stop it (SIGTERM to its group) afterwards.

    ``tls``: the client context that trusts the certificate given in ``extra`` (--tls-cert).
    """
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = home / "router.log"
    with log.open("ab") as out:
        proc = start_process(
            [
                sys.executable,
                "-m",
                "switchman.dataplane",
                "--home",
                str(home),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = RouterProcess(home, port, proc, log, tls=tls)
    try:
        wait_for(
            lambda: _listening(running.url, running.verify), timeout=20, what="router to listen"
        )
        yield running
    finally:
        stop_process(proc)


def _listening(url: str, verify: ssl.SSLContext | bool = True) -> bool:
    try:
        httpx.get(url + "/-/ready", timeout=1, verify=verify)
    except httpx.TransportError:
        return False
    return True


def deployment(*instances: dict[str, Any], timeout_ms: int = 5000, mcr: int = 1) -> dict[str, Any]:
    return {
        "request_timeout_ms": timeout_ms,
        "max_concurrent_requests_per_instance": mcr,
        "instances": list(instances),
    }


def endpoint(
    deployments: dict[str, Any],
    traffic: dict[str, int],
    *,
    keys: tuple[str, ...] = ("primary-key", "secondary-key"),
    auth_mode: str = "key",
    mirror: dict[str, int] | None = None,
    audience: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "auth_mode": auth_mode,
        "key_sha256": [key_hash(k) for k in keys],
        "traffic": traffic,
        "mirror_traffic": mirror or {},
        "deployments": deployments,
    }
    if audience:
        out["token_audience"] = audience
    return out


AUTH = {"Authorization": "Bearer primary-key"}
