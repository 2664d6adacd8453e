"""Bad input to batch commands: one paragraph naming the thing and the fix, exit != 0, no traceback,
nothing half-created."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.batch import deploy, numbers, project
from tests.support.platform import Platform

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, platform: Platform) -> Path:
    target = project(tmp_path_factory.mktemp("batch"))
    deploy(platform, target)
    return target


def _fails(platform: Platform, *args: str) -> str:
    done = platform.run(*args, check=False)
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    message = done.stderr.strip()
    assert message.startswith("ERROR: ") and "\n" not in message, message
    return message


def _edit(folder: Path, old: str, new: str, name: str = "bad.yml") -> Path:
    path = folder / name
    path.write_text((folder / "deployment.yml").read_text().replace(old, new))
    return path


def test_deployment_yaml_errors_name_file_line_and_field(platform: Platform, folder: Path) -> None:
    bad = _edit(folder, "  logging_level: info", "  loging_level: info")
    message = _fails(platform, "batch-deployment", "create", "-f", str(bad), "-n", "bad-one")
    assert "unknown key 'settings.loging_level'" in message and "bad.yml, line 23" in message
    zero = _edit(folder, "mini_batch_size: 3", "mini_batch_size: 0")
    message = _fails(platform, "batch-deployment", "create", "-f", str(zero), "-n", "bad-two")
    assert "mini_batch_size" in message and "at least 1" in message
    pipeline = folder / "pipeline.yml"
    pipeline.write_text(
        "name: pipe-dep\nendpoint_name: numbers\ntype: pipeline\ncomponent: azureml:c:1\n"
    )
    message = _fails(platform, "batch-deployment", "create", "-f", str(pipeline))
    assert "type: pipeline" in message and "not supported" in message
    names = [d["name"] for d in platform.json("batch-deployment", "list", "-e", "numbers")]
    assert names == ["doubler"]  # nothing half-created


def test_missing_compute_and_endpoint(platform: Platform, folder: Path) -> None:
    no_compute = _edit(folder, "azureml:batch-cluster", "azureml:gpu-cluster")
    message = _fails(platform, "batch-deployment", "create", "-f", str(no_compute), "-n", "nocomp")
    assert (
        "Compute 'gpu-cluster'" in message and "switchman compute create -n gpu-cluster" in message
    )
    message = _fails(
        platform, "batch-deployment", "create", "-f", str(folder / "deployment.yml"), "-e", "ghost"
    )
    assert "Batch endpoint 'ghost' does not exist" in message and "batch-endpoint create" in message
    message = _fails(platform, "compute", "create", "-n", "big", "--max-instances", "90")
    assert "quota" in message
    message = _fails(
        platform, "compute", "create", "-n", "odd", "--min-instances", "3", "--max-instances", "2"
    )
    assert "min_instances (3) is above max_instances (2)" in message
    assert [c["name"] for c in platform.json("compute", "list")] == ["batch-cluster"]


def test_invoke_without_a_default_deployment(
    platform: Platform, folder: Path, tmp_path: Path
) -> None:
    platform.run("batch-endpoint", "create", "-n", "empty-ep", "-o", "none")
    message = _fails(
        platform,
        "batch-endpoint",
        "invoke",
        "-n",
        "empty-ep",
        "--input",
        str(numbers(tmp_path / "d", 2)),
    )
    assert "No valid deployments to route to" in message and "--set-default" in message
    assert platform.json("batch-endpoint", "list-jobs", "-n", "empty-ep") == []


def test_invoke_input_and_output_errors(platform: Platform, folder: Path, tmp_path: Path) -> None:
    before = len(platform.json("job", "list"))
    message = _fails(
        platform, "batch-endpoint", "invoke", "-n", "numbers", "--input", str(tmp_path / "nope")
    )
    assert "does not exist" in message and "nope" in message
    (tmp_path / "empty").mkdir()
    message = _fails(
        platform, "batch-endpoint", "invoke", "-n", "numbers", "--input", str(tmp_path / "empty")
    )
    assert "holds no files" in message
    message = _fails(
        platform,
        "batch-endpoint",
        "invoke",
        "-n",
        "numbers",
        "--input",
        "azureml:no-such-data@latest",
    )
    assert "Data asset 'no-such-data'" in message and "data create" in message
    data = str(numbers(tmp_path / "data", 2))
    message = _fails(
        platform, "batch-endpoint", "invoke", "-n", "numbers", "--input", data, "-m", "0"
    )
    assert "mini_batch_size" in message
    message = _fails(
        platform, "batch-endpoint", "invoke", "-n", "numbers", "--input", data, "--set", "retries=2"
    )
    assert "Unknown job setting 'retries'" in message and "max_retries" in message
    out = "azureml://datastores/workspaceblobstore/paths/fixed-output/"
    platform.run(
        "batch-endpoint",
        "invoke",
        "-n",
        "numbers",
        "--input",
        data,
        "--output-path",
        out,
        "--job-name",
        "first-to-fixed-output",
        "-o",
        "none",
    )
    from tests.support.batch import wait

    assert wait(platform, "first-to-fixed-output")["status"] == "Completed"
    message = _fails(
        platform, "batch-endpoint", "invoke", "-n", "numbers", "--input", data, "--output-path", out
    )
    assert "already holds predictions.csv" in message and "output_file_name" in message
    message = _fails(
        platform,
        "batch-endpoint",
        "invoke",
        "-n",
        "numbers",
        "--input",
        data,
        "--job-name",
        "first-to-fixed-output",
    )
    assert "already exists" in message
    assert len(platform.json("job", "list")) == before + 1  # only the good one


@pytest.mark.parametrize("verb", ["show", "stream", "cancel"])
def test_unknown_job_names(platform: Platform, folder: Path, verb: str) -> None:
    message = _fails(platform, "job", verb, "-n", "batchjob-nope")
    assert "Job 'batchjob-nope' does not exist" in message and "list-jobs" in message


def test_unknown_job_download(platform: Platform, folder: Path, tmp_path: Path) -> None:
    message = _fails(
        platform,
        "job",
        "download",
        "-n",
        "batchjob-nope",
        "--all",
        "--download-path",
        str(tmp_path),
    )
    assert "does not exist" in message
    assert not any(tmp_path.iterdir())
