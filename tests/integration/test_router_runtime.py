"""End to end on real instances: router → `python -m switchman.runtime` → the user's run()."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.proc import free_port, start_process, stop_process, wait_for
from tests.support.router import AUTH, TESTDATA, deployment, endpoint, router

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SCRIPT = TESTDATA / "score.py"


@contextmanager
def runtime(tmp: Path, instance_id: str, calls: Path) -> Iterator[dict[str, Any]]:
    model_dir = tmp / "model"
    model_dir.mkdir(exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "AZUREML_ENTRY_SCRIPT": str(SCRIPT),
        "AML_APP_ROOT": str(SCRIPT.parent),
        "AZUREML_MODEL_DIR": str(model_dir),
        "WORKER_COUNT": "1",
        "SWITCHMAN_STATUS_FILE": str(tmp / f"status-{instance_id}.json"),
        "SWITCHMAN_INSTANCE_ID": instance_id,
        "ROUTER_CALLS": str(calls),
        "PYTHONPATH": str(REPO),
    }
    log = tmp / f"{instance_id}.log"
    with log.open("wb") as out:
        proc = start_process(
            [sys.executable, "-m", "switchman.runtime", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: httpx.get(url + "/", timeout=1).status_code == 200, timeout=30, what=instance_id
        )
        yield {
            "entry": {"id": instance_id, "url": url, "ready": True, "pid": proc.pid},
            "proc": proc,
        }
    finally:
        stop_process(proc)


def test_router_in_front_of_real_runtime_instances(tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    with (
        runtime(tmp_path, "blue-1", calls) as one,
        runtime(tmp_path, "blue-2", calls) as two,
        router(tmp_path / "home") as r,
        httpx.Client(timeout=30) as client,
    ):
        r.publish(
            {"ep": endpoint({"blue": deployment(one["entry"], two["entry"], mcr=1)}, {"blue": 100})}
        )
        url = f"{r.url}/endpoints/ep/score"
        resp = client.post(url, json={"echo": "hi", "marker": "m0"}, headers=AUTH)
        assert resp.status_code == 200, resp.text
        assert resp.json()["echo"] == "hi"
        assert resp.headers["azureml-model-deployment"] == "blue"

        failed = client.post(url, json={"raise": True, "marker": "m1"}, headers=AUTH)
        assert failed.status_code == 424
        assert failed.headers["ms-azureml-model-error-statuscode"] == "500"
        assert failed.json()["details"]["model_status_code"] == 500

        markers = [f"a{n}" for n in range(10)]
        for marker in markers:
            assert client.post(url, json={"marker": marker}, headers=AUTH).status_code == 200
        stop_process(two["proc"])  # an instance dies; the table still says ready
        after = [f"b{n}" for n in range(20)]
        for marker in after:
            resp = client.post(url, json={"marker": marker}, headers=AUTH)
            assert resp.status_code == 200, resp.text
        executed = calls.read_text().split()
        for marker in ["m0", "m1", *markers, *after]:
            assert executed.count(marker) == 1, marker  # run() never ran twice for one request
