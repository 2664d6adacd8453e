"""Spec models: Azure ML's names, defaults and traffic rules; YAML errors that name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchman.errors import BadArgumentError, SpecFileError
from switchman.spec import OnlineDeploymentSpec, OnlineEndpointSpec
from switchman.spec.loader import load_spec, parse_set
from switchman.spec.names import name_problem
from switchman.spec.sku import close_matches, find_sku


@pytest.mark.parametrize("name", ["abc", "my-endpoint", "A1b2", "a" * 32, "x-1-y"])
def test_valid_names(name: str) -> None:
    assert name_problem(name, "an endpoint") is None


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("ab", "at least 3 and at most 32"),
        ("a" * 33, "at least 3 and at most 32"),
        ("1abc", "must start with an upper- or lowercase letter"),
        ("abc-", "must start with an upper- or lowercase letter"),
        ("ab_c", "must start with an upper- or lowercase letter"),
    ],
)
def test_invalid_names_use_the_sdk_text(name: str, fragment: str) -> None:
    problem = name_problem(name, "a deployment")
    assert problem is not None and fragment in problem and "a deployment" in problem


def test_deployment_defaults_match_azure() -> None:
    spec = OnlineDeploymentSpec.model_validate({"name": "blue"})
    assert spec.request_settings.request_timeout_ms == 5000
    assert spec.request_settings.max_concurrent_requests_per_instance == 1
    assert spec.request_settings.max_queue_wait_ms == 500
    assert spec.liveness_probe.initial_delay == 10
    assert spec.liveness_probe.period == 10
    assert spec.liveness_probe.timeout == 2
    assert spec.liveness_probe.failure_threshold == 30
    assert spec.readiness_probe.success_threshold == 1
    assert spec.scale_settings.type == "default"
    assert spec.app_insights_enabled is False
    assert spec.egress_public_network_access == "enabled"


def test_endpoint_defaults() -> None:
    spec = OnlineEndpointSpec.model_validate({"name": "my-ep", "$schema": "https://x"})
    assert spec.auth_mode == "key"
    assert spec.traffic == {} and spec.mirror_traffic == {}
    assert spec.public_network_access == "enabled"


@pytest.mark.parametrize(
    ("traffic", "mirror", "fragment"),
    [
        ({"blue": 90, "green": 20}, {}, "0 or 100"),
        ({"blue": 50}, {}, "0 or 100"),
        ({"blue": 100}, {"green": 51}, "at most 50"),
        ({"blue": 100}, {"green": 10, "red": 10}, "one deployment"),
        ({"blue": 100}, {"blue": 10}, "live traffic"),
        ({"blue": 101}, {}, "between 0 and 100"),
    ],
)
def test_traffic_rules(traffic: dict[str, int], mirror: dict[str, int], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        OnlineEndpointSpec.model_validate(
            {"name": "ep1", "traffic": traffic, "mirror_traffic": mirror}
        )


def test_zero_mirror_switches_mirroring_off() -> None:
    spec = OnlineEndpointSpec.model_validate(
        {"name": "ep1", "traffic": {"blue": 100}, "mirror_traffic": {"green": 0}}
    )
    assert spec.mirror_traffic == {}


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "dep.yml"
    path.write_text("name: blue\ninstance_count: 1\nrequest_settings:\n  request_timeout: 10\n")
    with pytest.raises(SpecFileError) as info:
        load_spec(OnlineDeploymentSpec, path)
    assert "request_settings.request_timeout" in info.value.message
    assert f"{path}, line 4" in info.value.message


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "ep.yml"
    path.write_text("name: ep\n tags: {\n")
    with pytest.raises(SpecFileError, match=r"line \d+"):
        load_spec(OnlineEndpointSpec, path)


def test_relative_paths_resolve_against_the_yaml_folder(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    path = folder / "dep.yml"
    path.write_text(
        "name: blue\nmodel:\n  path: ../model-1/model/\ncode_configuration:\n  code: code/\n  scoring_script: score.py\n"
        "environment:\n  conda_file: env/conda.yaml\n  image: x\n"
    )
    spec, _ = load_spec(OnlineDeploymentSpec, path)
    assert spec.code_configuration is not None
    assert spec.code_configuration.code == str(folder / "code")
    assert not isinstance(spec.model, str) and spec.model is not None
    assert spec.model.path == str(tmp_path / "model-1" / "model")
    assert not isinstance(spec.environment, str) and spec.environment is not None
    assert spec.environment.conda_file == str(folder / "env" / "conda.yaml")


def test_registered_references_stay_as_given(tmp_path: Path) -> None:
    path = tmp_path / "dep.yml"
    path.write_text("name: blue\nmodel: azureml:my-model:1\nenvironment: azureml:my-env@latest\n")
    spec, _ = load_spec(OnlineDeploymentSpec, path)
    assert spec.model == "azureml:my-model:1"
    assert spec.environment == "azureml:my-env@latest"


def test_set_overrides_apply_before_validation(tmp_path: Path) -> None:
    path = tmp_path / "dep.yml"
    path.write_text("name: blue\ninstance_count: 1\n")
    spec, _ = load_spec(
        OnlineDeploymentSpec,
        path,
        overrides=[
            "instance_count=3",
            "request_settings.max_concurrent_requests_per_instance=4 environment_variables.WORKER_COUNT=4",
        ],
    )
    assert spec.instance_count == 3
    assert spec.request_settings.max_concurrent_requests_per_instance == 4
    assert spec.environment_variables == {"WORKER_COUNT": "4"}


def test_set_without_equals_is_a_clear_error() -> None:
    with pytest.raises(BadArgumentError, match="path=value"):
        parse_set(["instance_count"])


def test_request_timeout_is_capped() -> None:
    with pytest.raises(ValueError, match="180000"):
        OnlineDeploymentSpec.model_validate(
            {"name": "blue", "request_settings": {"request_timeout_ms": 180001}}
        )


def test_sku_catalogue() -> None:
    sku = find_sku("standard_ds3_v2")
    assert sku is not None and sku.vcpus == 4 and sku.memory_gib == 14
    assert find_sku("Standard_F72s_v2") is not None
    assert find_sku("Standard_NC24ads_A100_v4").skip_reservation  # type: ignore[union-attr]
    assert "Standard_DS3_v2" in close_matches("Standard_DS3_v3")


def test_conda_keys_at_top_of_environment_are_refused() -> None:
    from switchman.spec import EnvironmentSpec

    with pytest.raises(ValueError, match="conda file"):
        EnvironmentSpec.model_validate({"image": "x", "dependencies": ["numpy"]})
