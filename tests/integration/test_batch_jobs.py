"""Batch endpoints end to end: real control plane, router, workers and SQLite on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
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


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, platform: Platform) -> Path:
    target = project(tmp_path_factory.mktemp("batch"))
    deploy(platform, target)
    return target


def test_a_folder_becomes_predictions_csv(platform: Platform, folder: Path, tmp_path: Path) -> None:
    data = numbers(tmp_path / "data", 20, extra={"nested/deep/n.txt": "100\n"})
    platform.run(
        "data",
        "create",
        "--name",
        "numbers-data",
        "--type",
        "uri_folder",
        "--path",
        str(data),
        "-o",
        "none",
    )
    shown = platform.json("data", "show", "-n", "numbers-data", "-l", "latest")
    assert shown["version"] == "1" and shown["path"].startswith("azureml://datastores/")
    job = invoke(platform, "azureml:numbers-data@latest")
    stream = platform.run("job", "stream", "-n", job)
    assert "Status: Completed" in stream.stdout and "mini-batches" in stream.stdout
    view = platform.json("job", "show", "-n", job)
    assert view["status"] == "Completed"
    assert view["progress"]["mini_batches_total"] == 7  # 21 files / mini_batch_size 3
    rows = predictions(platform, job, tmp_path / "out")
    names = sorted(r[0] for r in rows)
    assert names == sorted([f"f{i:04d}.txt" for i in range(1, 21)] + ["n.txt"])  # once each
    assert {r[1] for r in rows if r[0] == "f0007.txt"} == {"14.0"}
    assert {r[3] for r in rows} == {"1"}  # init() ran once per worker process
    assert len({r[2] for r in rows}) <= 2  # max_concurrency_per_instance: 2 workers
    # The cluster scaled from 0 to one node for the job and keeps it for the idle time.
    compute = platform.json("compute", "show", "-n", "batch-cluster")
    assert compute["current_node_count"] == 1 and compute["state"] == "Steady"
    listed = platform.json("batch-endpoint", "list-jobs", "-n", "numbers")
    assert job in [j["name"] for j in listed]
    by_deployment = platform.json("batch-deployment", "list-jobs", "-n", "doubler", "-e", "numbers")
    assert job in [j["name"] for j in by_deployment]
    assert job in [j["name"] for j in platform.json("job", "list")]


def test_download_all_writes_the_log_layout(
    platform: Platform, folder: Path, tmp_path: Path
) -> None:
    job = invoke(platform, numbers(tmp_path / "data", 4))
    assert wait(platform, job)["status"] == "Completed"
    platform.run("job", "download", "-n", job, "--all", "--download-path", str(tmp_path / "all"))
    root = tmp_path / "all"
    overview = (root / "logs" / "job_progress_overview.txt").read_text()
    assert "Total mini batches: 2" in overview and "completed successfully" in overview
    assert (root / "logs" / "user" / "error.txt").exists()
    assert (root / "named-outputs" / "score" / "predictions.csv").exists()
    stdout = list((root / "logs" / "user" / "stdout").glob("*/process*.stdout.txt"))
    assert stdout and any("init done" in p.read_text() for p in stdout)
    stats = list((root / "logs" / "sys" / "node").glob("*/process*.txt"))
    assert any("items total" in p.read_text() for p in stats)
    assert "merged 4 rows" in (root / "azureml-logs" / "70_driver_log.txt").read_text()


def test_rest_jobs_uri_takes_an_access_token(
    platform: Platform, folder: Path, tmp_path: Path
) -> None:
    data = numbers(tmp_path / "data", 5)
    uri = platform.json("batch-endpoint", "show", "-n", "numbers")["scoring_uri"]
    assert uri.endswith("/endpoints/numbers/jobs") and uri.startswith("http://127.0.0.1:")
    token = platform.json("account", "get-access-token")
    assert token["tokenType"] == "Bearer" and token["expiresOn"]
    body = {
        "properties": {
            "InputData": {"numbers": {"JobInputType": "UriFolder", "Uri": str(data)}},
            "OutputData": {
                "score": {
                    "JobOutputType": "UriFolder",
                    "Uri": "azureml://datastores/workspaceblobstore/paths/rest-out/",
                }
            },
        }
    }
    headers = {
        "Authorization": f"Bearer {token['accessToken']}",
        "azureml-model-deployment": "doubler",
    }
    answer = httpx.post(uri, json=body, headers=headers, timeout=30, trust_env=False)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "Queued" and answer.json()["name"]
    assert wait(platform, answer.json()["name"])["status"] == "Completed"
    no_token = httpx.post(uri, json=body, timeout=30, trust_env=False)
    assert no_token.status_code == 401 and no_token.json()["code"] == "Unauthorized"
    online_key = {"Authorization": "Bearer not-a-token"}
    assert (
        httpx.post(uri, json=body, headers=online_key, timeout=30, trust_env=False).status_code
        == 401
    )
    for bad in (b"{", json.dumps({"properties": {"InputData": {}}}).encode()):
        answer = httpx.post(uri, content=bad, headers=headers, timeout=30, trust_env=False)
        assert answer.status_code == 400 and "message" in answer.json()
    again = httpx.post(uri, json=body, headers=headers, timeout=30, trust_env=False)
    assert again.status_code == 409 and "predictions.csv" in again.json()["message"]


def test_failing_minibatches_are_retried_then_counted(
    platform: Platform, folder: Path, tmp_path: Path
) -> None:
    data = numbers(tmp_path / "data", 5, extra={"boom.txt": "1\n", "skip.txt": "2\n"})
    job = invoke(platform, data, "--set", "max_retries=1", "--mini-batch-size", "1")
    view = wait(platform, job)
    assert view["status"] == "Completed"  # error_threshold -1 ignores failures
    assert view["progress"]["mini_batches_failed"] == 1
    assert view["progress"]["items_failed"] == 2  # boom (run raised) + skip (no row returned)
    rows = predictions(platform, job, tmp_path / "out")
    assert sorted(r[0] for r in rows) == [f"f{i:04d}.txt" for i in range(1, 6)]
    tight = invoke(
        platform, data, "--set", "error_threshold=1", "--set", "max_retries=0", "-m", "1"
    )
    failed = wait(platform, tight)
    assert failed["status"] == "Failed"
    assert "exceed error_threshold 1" in failed["error"]["message"]
    stream = platform.run("job", "stream", "-n", tight, check=False)
    assert stream.returncode != 0 and "Traceback" not in stream.stderr
    platform.run("job", "download", "-n", tight, "--all", "--download-path", str(tmp_path / "logs"))
    errors = (tmp_path / "logs" / "logs" / "user" / "error.txt").read_text()
    assert "RuntimeError: cannot score boom.txt" in errors


def test_a_run_past_the_timeout_is_killed_and_retried(
    platform: Platform, folder: Path, tmp_path: Path
) -> None:
    data = numbers(tmp_path / "data", 2, extra={"hang.txt": "0\n"})
    job = invoke(platform, data, "--set", "timeout=1", "--set", "max_retries=1", "-m", "1")
    view = wait(platform, job)
    assert view["status"] == "Completed" and view["progress"]["mini_batches_failed"] == 1
    driver = Path(platform.home / "jobs" / job / "driver.log").read_text()
    assert driver.count("timed out") == 2  # the first try and its one retry
    # Every worker of the job is gone (the hung ones were killed, the others finished).
    pids = worker_pids(platform.home, job)
    assert len(pids) >= 3  # the two killed for the timeout were replaced
    wait_for(lambda: not any(running(p) for p in pids), what="the job's workers to exit")


def test_a_failing_init_fails_the_job_with_the_scripts_error(
    platform: Platform, folder: Path, tmp_path: Path
) -> None:
    deploy(
        platform, folder, "settings.environment_variables.FAIL_INIT=/no/such/model", name="broken"
    )
    try:
        job = invoke(platform, numbers(tmp_path / "data", 3), "-d", "broken")
        view = wait(platform, job)
        assert view["status"] == "Failed"
        assert "ValueError: bad model path: /no/such/model" in view["error"]["message"]
    finally:
        platform.run(
            "batch-endpoint",
            "update",
            "-n",
            "numbers",
            "--set",
            "defaults.deployment_name=doubler",
            "-o",
            "none",
        )


def test_cancel_stops_the_workers_at_once(platform: Platform, folder: Path, tmp_path: Path) -> None:
    data = numbers(tmp_path / "data", 40)
    job = invoke(platform, data, "--set", "environment_variables.SLEEP_PER_FILE=0.5", "-m", "1")
    wait_for(lambda: platform.json("job", "show", "-n", job)["status"] == "Running", what="Running")
    pids = worker_pids(platform.home, job)
    assert pids and any(running(p) for p in pids)
    view = platform.json("job", "cancel", "-n", job)
    assert view["status"] == "Canceled" and view["workers"] == []
    # Killed at once (SIGKILL): nothing of the job keeps running.
    wait_for(lambda: not any(running(p) for p in pids), timeout=5, what="workers to be killed")
    assert platform.json("job", "show", "-n", job)["progress"]["mini_batches_completed"] < 40


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "one.txt").write_text("21\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path / "served"), **kwargs)  # type: ignore[misc]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_http_input_is_downloaded_once(
    platform: Platform, folder: Path, tmp_path: Path, file_server: str
) -> None:
    job = invoke(platform, f"{file_server}/one.txt", "--input-type", "uri_file")
    assert wait(platform, job)["status"] == "Completed"
    assert [r[:2] for r in predictions(platform, job, tmp_path / "out")] == [["one.txt", "42.0"]]


def test_legacy_shape_summary_only_two_nodes_and_an_inputs_file(
    platform: Platform, folder: Path, tmp_path: Path
) -> None:
    """The legacy deployment shape (settings at the root), output_action summary_only, two nodes
    of a cluster that releases them at once, and `invoke --file inputs.yml`."""
    platform.run(
        "compute", "create", "-n", "quick-cluster", "--max-instances", "2",
        "--idle-time-before-scale-down", "0", "-o", "none",
    )  # fmt: skip
    legacy = folder / "legacy.yml"
    legacy.write_text(
        "name: legacy\nendpoint_name: numbers\n"
        "model:\n  name: doubler-model\n  path: model\n"
        "code_configuration:\n  code: code\n  scoring_script: score.py\n"
        "compute: azureml:quick-cluster\nresources:\n  instance_count: 2\n"
        "mini_batch_size: 2\nmax_concurrency_per_instance: 1\noutput_action: summary_only\n"
        "retry_settings:\n  max_retries: 1\n  timeout: 30\nerror_threshold: -1\n"
    )
    platform.run("batch-deployment", "create", "-f", str(legacy), "-o", "none")
    shown = platform.json("batch-deployment", "show", "-n", "legacy", "-e", "numbers")
    assert shown["settings"]["output_action"] == "summary_only"
    assert shown["settings"]["mini_batch_size"] == 2
    numbers(tmp_path / "inputs" / "data", 8)
    inputs = tmp_path / "inputs" / "inputs.yml"
    inputs.write_text("inputs:\n  numbers:\n    type: uri_folder\n    path: data\n")
    job = platform.run(
        "batch-endpoint", "invoke", "-n", "numbers", "-d", "legacy", "--file", str(inputs),
        "--query", "name", "-o", "tsv",
    ).stdout.strip()  # fmt: skip
    view = wait(platform, job)
    assert view["status"] == "Completed" and view["progress"]["items_succeeded"] == 8
    assert view["inputs"]["numbers"]["type"] == "uri_folder"
    driver = (platform.home / "jobs" / job / "driver.log").read_text()
    assert (
        driver.count("provisioned nodes") == 1
        and "," in driver.split("provisioned nodes")[1].splitlines()[0]
    )
    platform.run("job", "download", "-n", job, "--all", "--download-path", str(tmp_path / "o"))
    assert not (tmp_path / "o" / "named-outputs" / "score" / "predictions.csv").exists()
    nodes = {p.parent.name for p in (tmp_path / "o" / "logs" / "user" / "stdout").glob("*/*.txt")}
    assert len(nodes) == 2  # the job ran on two nodes
    wait_for(
        lambda: platform.json("compute", "show", "-n", "quick-cluster")["current_node_count"] == 0,
        what="idle nodes to be released after idle_time_before_scale_down 0",
    )
