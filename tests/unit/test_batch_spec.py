"""The batch spec kinds: batchEndpoint, batchDeployment (type: model and legacy), amlCompute, data."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchman.errors import SpecFileError
from switchman.spec.batch import BatchDeploymentSpec, BatchEndpointSpec, compute_name
from switchman.spec.compute import AmlComputeSpec
from switchman.spec.data import DataSpec
from switchman.spec.loader import load_spec

# The shape of azureml-examples' cli/endpoints/batch/deploy-models/mnist-classifier deployment.
MODEL_DEPLOYMENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: mnist-torch-dpl
description: A deployment using Torch to solve the MNIST classification dataset.
endpoint_name: mnist-batch
type: model
model:
  name: mnist-classifier-torch
  path: model
code_configuration:
  code: code
  scoring_script: batch_driver.py
environment:
  name: batch-torch-py38
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest
  conda_file: environment/conda.yaml
compute: azureml:batch-cluster
resources:
  instance_count: 1
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: 10
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 3
    timeout: 30
  error_threshold: -1
  logging_level: info
"""

LEGACY_DEPLOYMENT = """\
name: classic
endpoint_name: mnist-batch
model: azureml:mnist@latest
code_configuration:
  code: code
  scoring_script: score.py
compute: azureml:batch-cluster
resources:
  instance_count: 2
mini_batch_size: 5
max_concurrency_per_instance: 3
output_action: summary_only
retry_settings:
  max_retries: 1
  timeout: 60
error_threshold: 4
logging_level: debug
environment_variables:
  LEVEL: 3
"""


def _write(tmp_path: Path, text: str, name: str = "spec.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_type_model_deployment_reads_every_setting(tmp_path: Path) -> None:
    spec, _ = load_spec(BatchDeploymentSpec, _write(tmp_path, MODEL_DEPLOYMENT))
    assert spec.type == "model"
    assert spec.settings.max_concurrency_per_instance == 2
    assert spec.settings.retry_settings.timeout == 30
    assert spec.instance_count == 1
    assert compute_name(spec.compute) == "batch-cluster"


def test_defaults_follow_the_reference() -> None:
    spec = BatchDeploymentSpec.model_validate(
        {"name": "dep", "model": "azureml:m:1", "compute": "azureml:c1x"}
    )
    s = spec.settings
    assert (s.mini_batch_size, s.max_concurrency_per_instance, s.error_threshold) == (10, 1, -1)
    assert (s.retry_settings.max_retries, s.retry_settings.timeout) == (3, 30)
    assert (s.output_action, s.output_file_name, s.logging_level) == (
        "append_row",
        "predictions.csv",
        "info",
    )
    assert spec.instance_count == 1


def test_legacy_shape_moves_root_settings_under_settings(tmp_path: Path) -> None:
    spec, _ = load_spec(BatchDeploymentSpec, _write(tmp_path, LEGACY_DEPLOYMENT))
    assert spec.type is None
    assert spec.settings.mini_batch_size == 5
    assert spec.settings.max_concurrency_per_instance == 3
    assert spec.settings.output_action == "summary_only"
    assert spec.settings.retry_settings.max_retries == 1
    assert spec.settings.error_threshold == 4
    assert spec.settings.environment_variables == {"LEVEL": "3"}
    assert spec.instance_count == 2


def test_pipeline_deployments_are_refused(tmp_path: Path) -> None:
    text = "name: pipe\nendpoint_name: e\ntype: pipeline\ncomponent: azureml:c:1\n"
    with pytest.raises(SpecFileError) as err:
        load_spec(BatchDeploymentSpec, _write(tmp_path, text))
    assert "type: pipeline" in err.value.message and "type: model" in err.value.message


def test_root_settings_in_type_model_are_an_error() -> None:
    with pytest.raises(ValueError, match="must sit under settings"):
        BatchDeploymentSpec.model_validate(
            {
                "name": "dep",
                "type": "model",
                "model": "azureml:m:1",
                "compute": "azureml:c1x",
                "mini_batch_size": 3,
            }
        )


@pytest.mark.parametrize("size", [0, -4])
def test_mini_batch_size_must_be_positive(tmp_path: Path, size: int) -> None:
    text = MODEL_DEPLOYMENT.replace("mini_batch_size: 10", f"mini_batch_size: {size}")
    with pytest.raises(SpecFileError) as err:
        load_spec(BatchDeploymentSpec, _write(tmp_path, text))
    message = err.value.message
    assert "settings.mini_batch_size" in message and "line 21" in message and "spec.yml" in message


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    text = MODEL_DEPLOYMENT.replace("  logging_level: info", "  loging_level: info")
    with pytest.raises(SpecFileError) as err:
        load_spec(BatchDeploymentSpec, _write(tmp_path, text))
    assert "unknown key 'settings.loging_level'" in err.value.message
    assert "line 28" in err.value.message


def test_instance_count_in_two_places_is_an_error() -> None:
    with pytest.raises(ValueError, match="both resources and settings"):
        BatchDeploymentSpec.model_validate(
            {
                "name": "dep",
                "model": "azureml:m:1",
                "compute": "azureml:c1x",
                "resources": {"instance_count": 2},
                "settings": {"instance_count": 3},
            }
        )


def test_deployment_names_follow_the_online_rules() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        BatchDeploymentSpec.model_validate({"name": "d", "model": "m", "compute": "azureml:c1x"})


def test_output_file_name_is_a_plain_name() -> None:
    with pytest.raises(ValueError, match="plain file name"):
        BatchDeploymentSpec.model_validate(
            {
                "name": "dep",
                "model": "azureml:m:1",
                "compute": "azureml:c1x",
                "settings": {"output_file_name": "../x.csv"},
            }
        )


def test_batch_endpoint_only_takes_aad_tokens() -> None:
    spec = BatchEndpointSpec.model_validate({"name": "heart-classifier-batch"})
    assert spec.auth_mode == "aad_token" and spec.defaults.deployment_name is None
    with pytest.raises(ValueError):
        BatchEndpointSpec.model_validate({"name": "heart", "auth_mode": "key"})
    with pytest.raises(ValueError, match="at least 3"):
        BatchEndpointSpec.model_validate({"name": "hx"[:1]})


def test_aml_compute_as_in_the_examples() -> None:
    spec = AmlComputeSpec.model_validate(
        {
            "name": "basic-example",
            "type": "amlcompute",
            "size": "STANDARD_DS3_v2",
            "min_instances": 0,
            "max_instances": 2,
            "idle_time_before_scale_down": 120,
        }
    )
    assert (spec.min_instances, spec.max_instances, spec.idle_time_before_scale_down) == (0, 2, 120)
    with pytest.raises(ValueError, match="above max_instances"):
        AmlComputeSpec.model_validate({"name": "c1x", "min_instances": 3, "max_instances": 2})
    with pytest.raises(ValueError, match="compute name"):
        AmlComputeSpec.model_validate({"name": "-bad"})


def test_data_assets() -> None:
    spec = DataSpec.model_validate(
        {"name": "heart-dataset-unlabeled", "type": "uri_folder", "path": "data", "version": 1}
    )
    assert spec.version == "1"
    with pytest.raises(ValueError, match="mltable"):
        DataSpec.model_validate({"name": "t", "type": "mltable", "path": "x"})
    with pytest.raises(ValueError):
        DataSpec.model_validate({"name": "t", "type": "uri_files", "path": "x"})


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("azureml:batch-cluster", "batch-cluster"),
        ("batch-cluster", "batch-cluster"),
        ("azureml:/subscriptions/s/workspaces/w/computes/gpu", "gpu"),
        ("azureml:", ""),
    ],
)
def test_compute_references(ref: str, name: str) -> None:
    assert compute_name(ref) == name
