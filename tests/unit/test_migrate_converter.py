"""Conversion of v1 services: sizing, dropped settings, AKS settings, service JSON, code, env, model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from switchman.errors import BadArgumentError, SpecFileError
from switchman.migrate import write_outputs
from switchman.spec.deployment import OnlineDeploymentSpec
from switchman.spec.endpoint import OnlineEndpointSpec
from switchman.spec.loader import load_spec
from tests.support.migrate import TESTDATA, V1Folder, inference_config, migrate, outcome, write_v1


def _service_folder(tmp_path: Path, name: str) -> V1Folder:
    folder = write_v1(tmp_path)
    shutil.copy(TESTDATA / name, folder.deployment_config)
    return folder


# -- sizing through the converter -------------------------------------------------------------


def test_cpu_and_memory_map_through_the_table(tmp_path: Path) -> None:
    dc = {"computeType": "ACI", "containerResourceRequirements": {"cpu": 3, "memoryInGB": 11.7}}
    m = migrate(write_v1(tmp_path, dc))
    assert m.deployment["instance_type"] == "Standard_DS3_v2"
    kind, target, reason = outcome(m, "containerResourceRequirements.cpu")
    assert (kind, target) == ("mapped", "instance_type: Standard_DS3_v2")
    assert reason == "official CPU/memory table"
    assert not any("instance_type" in w or "SKU" in w for w in m.warnings)


def test_missing_resources_use_the_v1_defaults(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "ACI"}))
    assert m.instance_type == "Standard_DS1_v2"
    assert outcome(m, "containerResourceRequirements.cpu")[0] == "defaulted"
    assert outcome(m, "containerResourceRequirements.memoryInGB")[0] == "defaulted"


def test_outside_the_table_picks_the_smallest_holder(tmp_path: Path) -> None:
    dc = {"computeType": "ACI", "containerResourceRequirements": {"cpu": 1, "memoryInGB": 5.7}}
    m = migrate(write_v1(tmp_path, dc))
    assert m.instance_type == "Standard_DS2_v2"
    assert any("outside the official CPU/memory table" in w for w in m.warnings)
    assert outcome(m, "containerResourceRequirements.cpu")[2] == "smallest SKU that holds it"


@pytest.mark.parametrize(
    ("resources", "match"),
    [
        ({"cpu": "two"}, r"containerResourceRequirements\.cpu must be a number"),
        ({"cpu": 0}, r"containerResourceRequirements\.cpu must be greater than 0"),
        ({"memoryInGB": -1}, r"memoryInGB must be greater than 0"),
        ({"cpu": True}, r"cpu must be a number"),
        ({"cpu": 999}, r"cannot be mapped to an instance type"),
    ],
)
def test_bad_resources_are_errors(tmp_path: Path, resources: dict[str, object], match: str) -> None:
    dc = {"computeType": "ACI", "containerResourceRequirements": resources}
    with pytest.raises(SpecFileError, match=match):
        migrate(write_v1(tmp_path, dc))


# -- settings that are not carried --------------------------------------------------------------


DROPPED = [
    (
        {"sslEnabled": True, "sslCertificate": "cert.pem", "sslKey": "key.pem", "cname": "a.b"},
        "TLS",
    ),
    ({"dnsNameLabel": "svc"}, "dnsNameLabel"),
    ({"vaultBaseUrl": "https://kv", "keyName": "k", "keyVersion": "1"}, "customer-managed key"),
    (
        {"encryptionProperties": {"vaultBaseUrl": "https://kv", "keyName": "k", "keyVersion": "1"}},
        "customer-managed key",
    ),
    ({"vnetName": "v", "subnetName": "s"}, "VNet"),
    ({"vnetConfiguration": {"vnetName": "v", "subnetName": "s"}}, "VNet"),
]


@pytest.mark.parametrize(("settings", "warning"), DROPPED)
def test_dropped_settings_warn(tmp_path: Path, settings: dict[str, object], warning: str) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "ACI", **settings}))
    for key in settings:
        assert outcome(m, key)[0] == "dropped"
    assert any(warning in w for w in m.warnings), m.warnings


def test_ssl_disabled_is_dropped_quietly(tmp_path: Path) -> None:
    m = migrate(
        write_v1(tmp_path, {"computeType": "ACI", "sslEnabled": False, "authEnabled": True})
    )
    assert outcome(m, "sslEnabled")[0] == "dropped"
    assert not any("TLS" in w for w in m.warnings)


def test_location_is_dropped_with_a_note(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "ACI", "location": "westeurope"}))
    kind, _, reason = outcome(m, "location")
    assert kind == "dropped" and "no regions" in reason
    assert not any("location" in w for w in m.warnings)


def test_app_insights(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "ACI", "appInsightsEnabled": True}))
    assert m.deployment["app_insights_enabled"] is True
    assert outcome(m, "appInsightsEnabled")[0] == "mapped"
    m = migrate(write_v1(tmp_path, {"computeType": "ACI"}))
    assert m.deployment["app_insights_enabled"] is False


def test_unknown_settings_are_listed_and_warned(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "ACI", "frobnicate": {"level": 3}}))
    kind, _, reason = outcome(m, "frobnicate.level")
    assert kind == "dropped" and "not a v1 setting this tool knows" in reason
    assert any("frobnicate.level" in w for w in m.warnings)


def test_aci_gets_one_instance_and_v2_request_defaults(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "ACI"}))
    assert m.deployment["instance_count"] == 1
    assert "request_settings" not in m.deployment
    assert outcome(m, "instance count")[0] == "defaulted"


# -- compute type --------------------------------------------------------------------------------


def test_wrong_subcommand_names_the_right_one(tmp_path: Path) -> None:
    with pytest.raises(SpecFileError, match="switchman migrate aks"):
        migrate(write_v1(tmp_path, {"computeType": "AKS"}), "aci")
    with pytest.raises(SpecFileError, match="switchman migrate aci"):
        migrate(write_v1(tmp_path, {"computeType": "aci"}), "aks")


def test_other_compute_types_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecFileError, match="computeType 'LOCAL' cannot be migrated"):
        migrate(write_v1(tmp_path, {"computeType": "LOCAL"}))


def test_missing_compute_type_follows_the_subcommand(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {}))
    assert outcome(m, "computeType")[0] == "defaulted"


# -- AKS -----------------------------------------------------------------------------------------


AKS_FULL = {
    "computeType": "AKS",
    "containerResourceRequirements": {"cpu": 1.5, "memoryInGB": 1.7},
    "numReplicas": 3,
    "scoringTimeoutMs": 30000,
    "maxConcurrentRequestsPerContainer": 2,
    "maxQueueWaitMs": 750,
    "livenessProbeRequirements": {
        "periodSeconds": 7,
        "initialDelaySeconds": 20,
        "timeoutSeconds": 4,
        "successThreshold": 1,
        "failureThreshold": 6,
    },
    "namespace": "ml",
    "computeTargetName": "aks1",
}


def test_aks_request_probe_and_replica_settings(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, AKS_FULL), "aks")
    d = m.deployment
    assert d["instance_type"] == "Standard_F2s_v2"
    assert d["instance_count"] == 3
    assert d["request_settings"] == {
        "request_timeout_ms": 30000,
        "max_concurrent_requests_per_instance": 2,
        "max_queue_wait_ms": 750,
    }
    probe = {
        "period": 7,
        "initial_delay": 20,
        "timeout": 4,
        "success_threshold": 1,
        "failure_threshold": 6,
    }
    assert d["liveness_probe"] == probe and d["readiness_probe"] == probe
    assert outcome(m, "numReplicas") == ("mapped", "instance_count: 3", "")
    assert outcome(m, "namespace")[0] == "dropped"
    assert outcome(m, "computeTargetName")[0] == "dropped"
    assert m.scale.scale_hint is None and "tags" not in d


def test_aks_top_level_probe_keys_and_aliases(tmp_path: Path) -> None:
    dc = {
        "computeType": "AKS",
        "replicas": 2,
        "periodSeconds": 11,
        "initialDelaySeconds": 0,
        "failureThreshold": 2,
        "successThreshold": 3,
        "maxRequestWaitTime": 900,
    }
    m = migrate(write_v1(tmp_path, dc), "aks")
    d = m.deployment
    assert d["instance_count"] == 2
    assert d["liveness_probe"] == {
        "period": 11,
        "initial_delay": 1,
        "failure_threshold": 2,
        "success_threshold": 1,
    }
    assert d["readiness_probe"]["success_threshold"] == 3
    assert "readiness only" in outcome(m, "successThreshold")[2]
    assert d["request_settings"]["max_queue_wait_ms"] == 900
    assert any("initial_delay is set to 1" in w for w in m.warnings)


def test_aks_defaults(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "AKS"}), "aks")
    d = m.deployment
    # v1 default: autoscale on between 1 and 10 replicas at 70%
    assert d["instance_count"] == 1
    assert m.scale.scale_hint == {
        "min_instances": 1,
        "max_instances": 10,
        "target_utilization_percentage": 70,
        "polling_interval": 1,
    }
    assert d["request_settings"] == {
        "request_timeout_ms": 60000,
        "max_concurrent_requests_per_instance": 1,
        "max_queue_wait_ms": 500,
    }
    assert "liveness_probe" not in d
    kind, _, reason = outcome(m, "initialDelaySeconds")
    assert kind == "defaulted" and "310" in reason
    assert outcome(m, "scoringTimeoutMs")[0] == "defaulted"


def test_aks_autoscale_becomes_floor_and_hint(tmp_path: Path) -> None:
    dc = {
        "computeType": "AKS",
        "autoScaler": {
            "autoscaleEnabled": True,
            "minReplicas": 3,
            "maxReplicas": 8,
            "targetUtilization": 55,
            "refreshPeriodInSeconds": 10,
        },
    }
    m = migrate(write_v1(tmp_path, dc), "aks")
    assert m.deployment["instance_count"] == 3
    assert m.deployment["tags"] == {
        "v1-autoscale-min-replicas": "3",
        "v1-autoscale-max-replicas": "8",
        "v1-autoscale-target-utilization": "55",
        "v1-autoscale-refresh-seconds": "10",
    }
    assert m.scale.scale_hint == {
        "min_instances": 3,
        "max_instances": 8,
        "target_utilization_percentage": 55,
        "polling_interval": 10,
    }
    assert any("autoscaled between 3 and 8" in w for w in m.warnings)
    for key in ("minReplicas", "maxReplicas", "targetUtilization", "refreshPeriodInSeconds"):
        assert outcome(m, f"autoScaler.{key}")[0] == "mapped"


def test_aks_autoscale_off_uses_replicas_and_drops_bounds(tmp_path: Path) -> None:
    dc = {
        "computeType": "AKS",
        "numReplicas": 4,
        "autoScaler": {"autoscaleEnabled": False, "minReplicas": 1, "maxReplicas": 9},
    }
    m = migrate(write_v1(tmp_path, dc), "aks")
    assert m.deployment["instance_count"] == 4 and m.scale.scale_hint is None
    assert outcome(m, "autoScaler.maxReplicas")[0] == "dropped"


def test_aks_limits_are_clamped_with_warnings(tmp_path: Path) -> None:
    dc = {"computeType": "AKS", "numReplicas": 80, "scoringTimeoutMs": 600000}
    m = migrate(write_v1(tmp_path, dc), "aks")
    assert m.deployment["instance_count"] == 50
    assert m.deployment["request_settings"]["request_timeout_ms"] == 180000
    assert sum("capped" in w or "above the managed online limit" in w for w in m.warnings) == 2


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"numReplicas": "two"}, "numReplicas must be a whole number"),
        ({"scoringTimeoutMs": 0}, "scoringTimeoutMs must be at least 1"),
        (
            {"livenessProbeRequirements": {"periodSeconds": 1.5}},
            r"livenessProbeRequirements\.periodSeconds",
        ),
        ({"autoScaler": {"autoscaleEnabled": "on"}}, "autoscaleEnabled must be true or false"),
    ],
)
def test_bad_aks_values_are_errors(tmp_path: Path, settings: dict[str, object], match: str) -> None:
    with pytest.raises(SpecFileError, match=match):
        migrate(write_v1(tmp_path, {"computeType": "AKS", **settings}), "aks")


# -- service JSON (Webservice.serialize / az ml service show) ------------------------------------


def test_aci_service_json(tmp_path: Path) -> None:
    folder = _service_folder(tmp_path, "aci-service.json")
    m = migrate(folder, "aci", service_json=True, model=None, endpoint=None)
    assert m.endpoint_name == "aci-iris"
    assert m.deployment["model"] == "azureml:iris:2" and m.model_ref == ("iris", "2")
    assert m.instance_type == "Standard_DS2_v2"
    assert m.old_scoring_uri == "http://aci-iris.westeurope.azurecontainer.io/score"
    for key in (
        "sslCertificate",
        "sslKey",
        "cname",
        "encryptionProperties",
        "vnetConfiguration",
        "publicIp",
        "state",
    ):
        assert outcome(m, key)[0] == "dropped"
    # secrets are masked in the report
    assert "MIIE" not in outcome(m, "sslKey")[0] + json.dumps([e.value for e in m.ledger.entries])
    # no environment in the inference config: the service's environmentDetails is used
    assert outcome(m, "environmentDetails.python.condaDependencies")[0] == "mapped"
    assert m.conda == {"dependencies": ["python=3.11", {"pip": ["scikit-learn"]}]}


def test_aks_service_json(tmp_path: Path) -> None:
    folder = _service_folder(tmp_path, "aks-service.json")
    m = migrate(folder, "aks", service_json=True, model=None, endpoint="churn-v2")
    d = m.deployment
    assert m.auth.auth_mode == "aml_token"
    assert m.instance_type == "Standard_DS3_v2"
    assert (
        d["instance_count"] == 2 and m.scale.scale_hint and m.scale.scale_hint["max_instances"] == 6
    )
    assert d["request_settings"]["request_timeout_ms"] == 20000
    assert d["liveness_probe"]["period"] == 15 and d["readiness_probe"]["success_threshold"] == 2
    assert outcome(m, "name")[0] == "dropped"  # --endpoint-name wins
    assert m.endpoint["description"] == "Churn model on AKS" and m.endpoint["tags"] == {
        "team": "risk"
    }
    assert outcome(m, "environmentDetails.spark")[0] == "dropped"
    assert outcome(m, "environmentDetails.docker.platform")[0] == "dropped"
    assert m.conda is not None
    pip = m.conda["dependencies"][1]["pip"]
    assert pip == ["scikit-learn"]  # azureml-defaults removed
    assert m.deployment["environment"]["image"].endswith(":20230401")
    assert any("azureml-defaults==1.61.0" in w for w in m.warnings)


def test_service_json_with_several_models_needs_model(tmp_path: Path) -> None:
    folder = write_v1(
        tmp_path,
        {
            "computeType": "ACI",
            "modelDetails": [{"name": "a", "version": 1}, {"name": "b", "version": 1}],
        },
    )
    with pytest.raises(BadArgumentError, match="has 2 models"):
        migrate(folder, service_json=True, model=None)
    m = migrate(folder, service_json=True, model="a:1")
    assert m.deployment["model"] == "azureml:a:1"
    assert outcome(m, "modelDetails")[0] == "dropped"


def test_every_setting_of_the_service_json_is_in_the_ledger(tmp_path: Path) -> None:
    folder = _service_folder(tmp_path, "aks-service.json")
    m = migrate(folder, "aks", service_json=True, model=None)
    data = json.loads(folder.deployment_config.read_text())
    covered = {
        e.setting.split(".")[0] for e in m.ledger.entries if e.source == "deploymentconfig.json"
    }
    assert {k for k, v in data.items() if v is not None} <= covered


# -- code, environment, model ---------------------------------------------------------------------


def test_code_configuration_is_relative_to_the_output_folder(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path))
    assert m.deployment["code_configuration"] == {"code": "../v1/src", "scoring_script": "score.py"}
    assert m.deployment["model"] == {"path": "../v1/model.pkl"}


def test_entry_script_in_a_subfolder(tmp_path: Path) -> None:
    folder = write_v1(tmp_path, inference=inference_config(entryScript="app/score.py"))
    (folder.root / "src" / "app").mkdir()
    (folder.root / "src" / "app" / "score.py").write_text(
        "def init(): pass\ndef run(d): return d\n"
    )
    m = migrate(folder)
    assert m.deployment["code_configuration"]["scoring_script"] == "app/score.py"


def test_entry_script_without_source_directory_is_copied(tmp_path: Path) -> None:
    folder = write_v1(tmp_path, inference={"entryScript": "src/score.py"})
    m = migrate(folder)
    assert m.deployment["code_configuration"] == {"code": "code", "scoring_script": "score.py"}
    files = write_outputs(m)
    assert (folder.out / "code" / "score.py").read_text() == (
        folder.root / "src" / "score.py"
    ).read_text()
    assert folder.out / "code" / "score.py" in files


@pytest.mark.parametrize(
    ("inference", "match"),
    [
        ({"sourceDirectory": "src"}, "entryScript is missing"),
        (
            {"entryScript": "nope.py", "sourceDirectory": "src"},
            "entryScript 'nope.py' does not exist",
        ),
        ({"entryScript": "nope.py"}, "entryScript 'nope.py' does not exist"),
        ({"entryScript": "score.py", "sourceDirectory": "missing"}, "sourceDirectory 'missing'"),
        (
            {"entryScript": "../inferenceconfig.json", "sourceDirectory": "src"},
            "outside sourceDirectory",
        ),
        (
            {"entryScript": "score.py", "sourceDirectory": "src", "environment": "env"},
            "v1 environment object",
        ),
        (
            {
                "entryScript": "score.py",
                "sourceDirectory": "src",
                "environment": {"python": {"condaDependenciesFile": "none.yml"}},
            },
            "condaDependenciesFile 'none.yml' does not exist",
        ),
    ],
)
def test_bad_inference_configs(tmp_path: Path, inference: dict[str, object], match: str) -> None:
    with pytest.raises(SpecFileError, match=match):
        migrate(write_v1(tmp_path, inference=inference))


def test_conda_dependencies_file_relative_to_source_directory(tmp_path: Path) -> None:
    env = {"python": {"condaDependenciesFile": "env.yml"}, "docker": {"baseImage": "img:1"}}
    folder = write_v1(tmp_path, inference=inference_config(environment=env))
    (folder.root / "src" / "env.yml").write_text(
        "dependencies:\n- python=3.11\n- pip:\n  - numpy\n"
    )
    m = migrate(folder)
    assert m.conda == {"dependencies": ["python=3.11", {"pip": ["numpy"]}]}
    assert m.deployment["environment"] == {"image": "img:1", "conda_file": "conda.yaml"}


def test_user_managed_dependencies_means_no_conda_file(tmp_path: Path) -> None:
    env = {
        "python": {
            "userManagedDependencies": True,
            "condaDependencies": {"dependencies": ["x"]},
            "interpreterPath": "/opt/py",
        }
    }
    m = migrate(write_v1(tmp_path, inference=inference_config(environment=env)))
    assert m.conda is None and "conda_file" not in m.deployment["environment"]
    assert outcome(m, "environment.python.userManagedDependencies")[0] == "mapped"
    assert outcome(m, "environment.python.condaDependencies")[0] == "dropped"
    assert outcome(m, "environment.python.interpreterPath")[0] == "dropped"


def test_environment_variables_and_docker_options(tmp_path: Path) -> None:
    env = {
        "environmentVariables": {"A": "1", "B": 2, "C": None},
        "docker": {"baseDockerfile": "FROM x", "shmSize": "2g", "arguments": ["--x"]},
    }
    m = migrate(write_v1(tmp_path, inference=inference_config(environment=env)))
    assert m.deployment["environment_variables"] == {"A": "1", "B": "2", "C": ""}
    assert outcome(m, "environment.docker.baseDockerfile")[0] == "dropped"
    assert outcome(m, "environment.docker.shmSize")[0] == "dropped"
    assert outcome(m, "environment.docker.baseImage")[0] == "defaulted"
    assert any("baseDockerfile" in w for w in m.warnings)


def test_legacy_inference_config_keys(tmp_path: Path) -> None:
    inference = inference_config(
        runtime="python", condaFile="env.yml", enableGpu=True, baseImage="img:2"
    )
    folder = write_v1(tmp_path, inference=inference)
    (folder.root / "src" / "env.yml").write_text("dependencies: [python=3.11]\n")
    m = migrate(folder)
    assert m.deployment["environment"] == {"image": "img:2", "conda_file": "conda.yaml"}
    assert outcome(m, "runtime")[0] == "dropped" and outcome(m, "enableGpu")[0] == "dropped"


def test_no_environment_runs_with_switchman_python(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path))
    assert "environment" not in m.deployment and m.conda is None
    assert outcome(m, "environment")[0] == "defaulted"


@pytest.mark.parametrize(
    ("arg", "expected"), [("iris:3", "azureml:iris:3"), ("azureml:iris:3", "azureml:iris:3")]
)
def test_registered_model_reference(tmp_path: Path, arg: str, expected: str) -> None:
    m = migrate(write_v1(tmp_path), model=arg)
    assert m.deployment["model"] == expected and m.model_ref == ("iris", "3")


def test_model_folder_path(tmp_path: Path) -> None:
    folder = write_v1(tmp_path)
    (folder.root / "model").mkdir()
    m = migrate(folder, model=str(folder.root / "model"))
    assert m.deployment["model"] == {"path": "../v1/model"}


def test_missing_model_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BadArgumentError, match="does not exist"):
        migrate(write_v1(tmp_path), model="missing/model.pkl")
    with pytest.raises(BadArgumentError, match="--model is required"):
        migrate(write_v1(tmp_path), model=None)


def test_bad_names_are_errors(tmp_path: Path) -> None:
    with pytest.raises(BadArgumentError, match="--endpoint-name 'x'"):
        migrate(write_v1(tmp_path), endpoint="x")
    with pytest.raises(BadArgumentError, match="--deployment-name '1blue'"):
        migrate(write_v1(tmp_path), deployment="1blue")
    with pytest.raises(BadArgumentError, match="--endpoint-name is required"):
        migrate(write_v1(tmp_path), endpoint=None)


# -- generated files -------------------------------------------------------------------------------


def test_written_yaml_loads_with_the_spec_loader(tmp_path: Path) -> None:
    folder = _service_folder(tmp_path, "aks-service.json")
    env = {
        "python": {
            "condaDependencies": {
                "dependencies": ["python=3.11", {"pip": ["azureml-defaults", "numpy"]}]
            }
        }
    }
    folder.inference_config.write_text(json.dumps(inference_config(environment=env)))
    m = migrate(folder, "aks", service_json=True, model="model.pkl")
    files = write_outputs(m)
    names = sorted(f.name for f in files)
    assert names == ["MIGRATION.md", "conda.yaml", "deployment.yml", "endpoint.yml"]
    endpoint, _ = load_spec(OnlineEndpointSpec, folder.out / "endpoint.yml")
    deployment, _ = load_spec(OnlineDeploymentSpec, folder.out / "deployment.yml")
    assert endpoint.auth_mode == "aml_token"
    assert deployment.code_configuration and deployment.code_configuration.code == str(
        folder.root / "src"
    )
    assert (
        isinstance(deployment.environment, type(deployment.environment)) and deployment.environment
    )
    assert deployment.environment.conda_file == str(folder.out / "conda.yaml")  # type: ignore[union-attr]
    assert yaml.safe_load((folder.out / "conda.yaml").read_text()) == {
        "dependencies": ["python=3.11", {"pip": ["numpy"]}]
    }
    report = (folder.out / "MIGRATION.md").read_text()
    for needle in (
        "## Every v1 setting",
        "`autoScaler.maxReplicas`",
        "`computeName`",
        "scale hint",
        "## Warnings",
        "Not applied",
    ):
        assert needle in report


def test_output_dir_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    folder = write_v1(tmp_path)
    folder.out.write_text("")
    m = migrate(folder)
    with pytest.raises(BadArgumentError, match="is a file"):
        write_outputs(m)
