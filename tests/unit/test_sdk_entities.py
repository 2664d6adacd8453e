"""SDK entities are the spec models: YAML → entity → REST document → entity round-trips, errors
name the field, and the public names match azure-ai-ml's."""

from __future__ import annotations

from pathlib import Path

import pytest

import switchman.ml as ml
from switchman.errors import ConflictError, NotFoundError, SwitchmanError
from switchman.ml import (
    ResourceExistsError,
    ResourceNotFoundError,
    ValidationException,
    load_batch_deployment,
    load_online_deployment,
    load_online_endpoint,
)
from switchman.ml.entities import (
    BatchDeployment,
    BatchEndpoint,
    BatchRetrySettings,
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    ModelBatchDeployment,
    ModelBatchDeploymentSettings,
    OnlineRequestSettings,
)
from switchman.ml.exceptions import from_switchman
from switchman.spec.batch import BatchDeploymentSpec
from switchman.spec.deployment import OnlineDeploymentSpec
from switchman.spec.endpoint import OnlineEndpointSpec

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples" / "online"


def test_entities_are_spec_models() -> None:
    assert issubclass(ManagedOnlineEndpoint, OnlineEndpointSpec)
    assert issubclass(ManagedOnlineDeployment, OnlineDeploymentSpec)
    assert issubclass(ModelBatchDeployment, BatchDeploymentSpec)


def test_yaml_entity_rest_entity_round_trip() -> None:
    deployment = load_online_deployment(EXAMPLES / "blue-deployment.yml")
    assert isinstance(deployment, ManagedOnlineDeployment)
    assert isinstance(deployment.model, Model) and isinstance(deployment.environment, Environment)
    # Paths in the file resolve against the file's folder, as the CLI does.
    assert deployment.code_configuration is not None
    assert deployment.code_configuration.code == str(EXAMPLES / "model-1" / "onlinescoring")
    document = deployment._to_rest()
    assert document["instance_type"] == "Standard_DS3_v2"
    assert OnlineDeploymentSpec.model_validate(document).name == "blue"  # the API's own schema
    view = {**document, "provisioning_state": "Succeeded", "id": "/x", "instances": [{"a": 1}]}
    again = ManagedOnlineDeployment._from_rest(view)
    assert again.provisioning_state == "Succeeded" and again.instances == [{"a": 1}]
    assert again._to_rest() == document  # read-only keys never go back


def test_mutating_an_entity_updates_only_what_changed() -> None:
    endpoint = load_online_endpoint(EXAMPLES / "endpoint.yml")
    assert set(endpoint._to_rest()) == {"$schema", "name", "auth_mode"}
    endpoint.traffic = {"blue": 100}
    assert endpoint._to_rest()["traffic"] == {"blue": 100}
    deployment = ManagedOnlineDeployment(name="blue", endpoint_name="ep", instance_type="x")
    assert "request_settings" not in deployment._to_rest()  # defaults stay with the platform
    deployment.request_settings.request_timeout_ms = 9000  # a nested change is sent
    assert deployment._to_rest()["request_settings"]["request_timeout_ms"] == 9000


def test_azure_constructor_shapes() -> None:
    code = CodeConfiguration("src", "score.py")  # positional, as azure-ai-ml allows
    assert (code.code, code.scoring_script) == ("src", "score.py")
    flat = ManagedOnlineDeployment(
        name="blue",
        endpoint_name="ep",
        code_path="src",
        scoring_script="score.py",
        request_settings=OnlineRequestSettings(request_timeout_ms=3000),
        description=None,  # None means "not given"
    )
    assert flat.code_configuration == code and flat.type == "managed"
    settings = ModelBatchDeploymentSettings(
        mini_batch_size=2, retry_settings=BatchRetrySettings(max_retries=1)
    )
    batch = ModelBatchDeployment(
        name="dep",
        endpoint_name="bep",
        model="azureml:heart:1",
        compute="azureml:batch-cluster",
        settings=settings,
        instance_count=2,
    )
    document = batch._to_rest()
    assert document["type"] == "model" and document["resources"] == {"instance_count": 2}
    assert document["settings"]["retry_settings"]["max_retries"] == 1
    legacy = BatchDeployment(
        name="dep", endpoint_name="bep", model="azureml:m:1", compute="azureml:c", mini_batch_size=5
    )
    assert legacy.mini_batch_size == 5
    endpoint = BatchEndpoint(name="bep", default_deployment_name="dep")
    assert endpoint._to_rest() == {"name": "bep", "defaults": {"deployment_name": "dep"}}


def test_batch_yaml_loads(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    spec = tmp_path / "deployment.yml"
    spec.write_text(
        "name: dep\nendpoint_name: bep\ntype: model\nmodel: azureml:heart@latest\n"
        "code_configuration:\n  code: code\n  scoring_script: batch_driver.py\n"
        "compute: azureml:batch-cluster\nsettings:\n  mini_batch_size: 3\n"
    )
    loaded = load_batch_deployment(spec, params_override=[{"settings.mini_batch_size": 4}])
    assert isinstance(loaded, ModelBatchDeployment)
    assert loaded.settings.mini_batch_size == 4
    assert loaded.code_configuration is not None
    assert loaded.code_configuration.code == str(tmp_path / "code")


def test_validation_errors_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValidationException, match="name"):
        ManagedOnlineEndpoint(name="x")
    with pytest.raises(ValidationException, match="instance_count"):
        ManagedOnlineDeployment(name="blue", instance_count=-1)
    with pytest.raises(ValidationException, match="unknown key 'colour'"):
        ManagedOnlineEndpoint(name="abc", colour="blue")
    bad = tmp_path / "endpoint.yml"
    bad.write_text("name: my-endpoint\nauth_mode: password\n")
    with pytest.raises(ValidationException, match=r"auth_mode in .*endpoint.yml, line 2"):
        load_online_endpoint(bad)


def test_platform_errors_become_azure_core_errors() -> None:
    missing = from_switchman(NotFoundError("Online endpoint 'nope' does not exist."))
    assert isinstance(missing, ResourceNotFoundError)
    assert (missing.status_code, missing.reason) == (404, "Not Found")
    assert "'nope'" in missing.message and missing.error is not None
    assert missing.error.code == "ResourceNotFound"
    assert isinstance(from_switchman(ConflictError("exists")), ResourceExistsError)
    other = from_switchman(SwitchmanError("boom"))
    assert isinstance(other, ml.HttpResponseError) and other.status_code == 500


def test_public_api() -> None:
    assert {"MLClient", "DefaultAzureCredential", "Input", "ResourceNotFoundError"} <= set(
        ml.__all__
    )
    assert all(hasattr(ml, name) for name in ml.__all__)
    client = ml.MLClient(ml.DefaultAzureCredential(), "sub", "rg", "ws", home="/nonexistent")
    assert client.workspace_name == "ws"
    with pytest.raises(ml.ServiceRequestError, match="not running"):
        client.online_endpoints.list()
