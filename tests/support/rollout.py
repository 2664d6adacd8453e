"""Helpers for rollout tests: deployments of tests/testdata/rollout/score.py in a chosen MODE."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.support.platform import Platform

CODE = Path(__file__).resolve().parent.parent / "testdata" / "rollout"


def deployment_file(
    folder: Path, name: str, mode: str = "good", data_collector: dict[str, Any] | None = None
) -> Path:
    spec: dict[str, Any] = {
        "name": name,
        "code_configuration": {"code": str(CODE), "scoring_script": "score.py"},
        "instance_type": "Standard_DS1_v2",  # 1 vCPU: many test deployments fit the quota
        "instance_count": 1,
        "environment_variables": {"MODE": mode},
        "request_settings": {"max_concurrent_requests_per_instance": 4},
    }
    if data_collector is not None:
        spec["data_collector"] = data_collector
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump(spec))
    return path


def create(
    platform: Platform,
    folder: Path,
    endpoint: str,
    name: str,
    mode: str = "good",
    *,
    data_collector: dict[str, Any] | None = None,
    all_traffic: bool = False,
) -> None:
    path = deployment_file(folder, name, mode, data_collector)
    args = ["online-deployment", "create", "-e", endpoint, "-f", str(path)]
    if all_traffic:
        args.append("--all-traffic")
    platform.run(*args)


def body(i: int) -> bytes:
    return json.dumps({"data": [[i, 1, 2], [i * 0.5, 3, 4]]}).encode()


def records(root: Path, collection: str) -> list[dict[str, Any]]:
    """Every record of a collection folder (data-collection/<ep>/<dep>/<collection>)."""
    out: list[dict[str, Any]] = []
    for path in sorted((root / collection).rglob("*.jsonl")):
        out += [json.loads(line) for line in path.read_text().splitlines() if line]
    return out


class Load:
    """Bounded background scoring traffic (paced, at most ``limit`` requests) for rollout tests."""

    def __init__(self, uri: str, key: str, *, per_second: float = 60.0, limit: int = 4000) -> None:
        import threading

        self.uri, self.key = uri, key
        self.interval = 1.0 / per_second
        self.limit = limit
        self.sent = 0
        self.statuses: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        with httpx.Client(timeout=30, trust_env=False) as http:
            while not self._stop.is_set() and self.sent < self.limit:
                try:
                    status = http.post(
                        self.uri, content=body(self.sent), headers=headers
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                self.sent += 1
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self._stop.wait(self.interval)  # pacing, not waiting for a condition
