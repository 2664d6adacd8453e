"""SDK overhead: what `switchman.ml` adds over the REST client it wraps (the anchor, measured in
the same run on the same platform): a `get` of an endpoint, and a scoring call via `invoke`
against the same call made with the REST client."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from switchman.client import Client
from switchman.home import Home
from tests.support.platform import running_platform

ROOT = Path(__file__).resolve().parent.parent
CALLS = 200


def _paired_ms(
    anchor: Callable[[], object], candidate: Callable[[], object], calls: int = CALLS
) -> tuple[float, float]:
    """Median ms per call of each, calls interleaved so load on the machine hits both alike."""
    anchor()
    candidate()  # warm connections
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(calls):
        for func, samples in ((anchor, times[0]), (candidate, times[1])):
            started = time.perf_counter()
            func()
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def run(workdir: Path) -> str:
    workdir.mkdir(parents=True, exist_ok=True)
    examples = workdir / "online"
    shutil.rmtree(examples, ignore_errors=True)
    shutil.copytree(ROOT / "examples" / "online", examples)
    subprocess.run([sys.executable, str(examples / "train.py"), str(examples)], check=True)
    home = workdir / "sdk-home"
    shutil.rmtree(home, ignore_errors=True)
    os.environ["SWITCHMAN_HOME"] = str(home)
    from switchman.ml import MLClient, load_online_deployment
    from switchman.ml.entities import ManagedOnlineEndpoint

    with running_platform(home):
        ml_client = MLClient(home=home)
        ml_client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="bench-sdk")
        ).result()
        deployment = load_online_deployment(examples / "blue-deployment.yml")
        deployment.endpoint_name = "bench-sdk"
        started = time.perf_counter()
        ml_client.online_deployments.begin_create_or_update(deployment).result()
        create_s = time.perf_counter() - started
        endpoint = ml_client.online_endpoints.get("bench-sdk")
        endpoint.traffic = {"blue": 100}
        ml_client.online_endpoints.begin_create_or_update(endpoint).result()
        request = examples / "sample-request.json"
        body = request.read_bytes()
        with Client.from_home(Home(home)) as raw:
            rest_get, sdk_get = _paired_ms(
                lambda: raw.get_endpoint("bench-sdk"),
                lambda: ml_client.online_endpoints.get("bench-sdk"),
            )
            rest_invoke, sdk_invoke = _paired_ms(
                lambda: raw.invoke("bench-sdk", body),
                lambda: ml_client.online_endpoints.invoke("bench-sdk", request_file=str(request)),
                100,
            )
        ml_client.close()
    return "\n".join(
        [
            "## SDK (`switchman.ml`) overhead",
            "",
            "Median per call on one platform; the anchor is the REST client the SDK wraps.",
            "",
            "| call | REST client (anchor) | SDK | SDK / anchor |",
            "|---|---|---|---|",
            f"| get endpoint | {rest_get:.2f} ms | {sdk_get:.2f} ms | {sdk_get / rest_get:.2f}× |",
            f"| invoke (score) | {rest_invoke:.2f} ms | {sdk_invoke:.2f} ms | "
            f"{sdk_invoke / rest_invoke:.2f}× |",
            "",
            f"`begin_create_or_update(deployment).result()` of the example: {create_s:.2f} s.",
        ]
    )
