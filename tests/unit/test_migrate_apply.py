"""--apply against a fake platform client: order of calls, keys, traffic, all-or-nothing clean-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from switchman.errors import ConflictError, DeploymentFailedError, SwitchmanError
from switchman.migrate import Migration, apply, write_outputs
from switchman.migrate.writer import write_report
from tests.support.migrate import V1_PRIMARY, V1_SECONDARY, migrate, write_v1


class FakeClient:
    """Records calls; ``fail_on`` names the method that raises ``error``."""

    def __init__(self, fail_on: str | None = None, error: BaseException | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail_on = fail_on
        self.error = error or SwitchmanError("boom")
        self.endpoints: dict[str, dict[str, Any]] = {}

    def _call(self, name: str, arg: Any) -> None:
        self.calls.append((name, arg))
        if name == self.fail_on:
            raise self.error

    def create_endpoint(self, spec: dict[str, Any]) -> dict[str, Any]:
        self._call("create_endpoint", spec)
        self.endpoints[spec["name"]] = spec
        return spec

    def update_endpoint(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        self._call("update_endpoint", spec)
        return spec

    def get_endpoint(self, name: str) -> dict[str, Any]:
        self._call("get_endpoint", name)
        return {"name": name, "scoring_uri": f"http://127.0.0.1:1/endpoints/{name}/score"}

    def delete_endpoint(self, name: str) -> None:
        self._call("delete_endpoint", name)
        self.endpoints.pop(name, None)

    def regenerate_keys(
        self, name: str, key_type: str = "primary", key_value: str | None = None
    ) -> dict[str, Any]:
        self._call("regenerate_keys", (key_type, key_value))
        return {}

    def create_deployment(self, endpoint: str, spec: dict[str, Any]) -> dict[str, Any]:
        self._call("create_deployment", spec)
        return spec


def _migration(tmp_path: Path, **deployment: Any) -> Migration:
    dc = {
        "computeType": "ACI",
        "authEnabled": True,
        "keys": {"primaryKey": V1_PRIMARY, "secondaryKey": V1_SECONDARY},
        **deployment,
    }
    m = migrate(write_v1(tmp_path, dc))
    write_outputs(m)
    return m


def test_apply_creates_sets_keys_then_traffic(tmp_path: Path) -> None:
    m = _migration(tmp_path)
    client = FakeClient()
    result = apply(m, client, m.request.output_dir)
    assert result.succeeded
    assert result.scoring_uri == "http://127.0.0.1:1/endpoints/my-endpoint/score"
    names = [c[0] for c in client.calls]
    assert names == [
        "create_endpoint",
        "regenerate_keys",
        "regenerate_keys",
        "create_deployment",
        "update_endpoint",
        "get_endpoint",
    ]
    assert client.calls[1][1] == ("primary", V1_PRIMARY)
    assert client.calls[2][1] == ("secondary", V1_SECONDARY)
    assert client.calls[0][1]["traffic"] == {}
    assert client.calls[4][1]["traffic"] == {"blue": 100}
    # paths were resolved against the output folder by the spec loader
    deployment = client.calls[3][1]
    assert deployment["code_configuration"]["code"] == str(tmp_path / "v1" / "src")
    assert deployment["model"]["path"] == str(tmp_path / "v1" / "model.pkl")
    write_report(m, [], result)
    report = (m.request.output_dir / "MIGRATION.md").read_text()
    assert "Scoring URI: http://127.0.0.1:1/endpoints/my-endpoint/score" in report


def test_apply_without_kept_keys_regenerates_nothing(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "ACI"}))
    write_outputs(m)
    client = FakeClient()
    assert apply(m, client, m.request.output_dir).succeeded
    assert "regenerate_keys" not in [c[0] for c in client.calls]


@pytest.mark.parametrize(
    "step", ["regenerate_keys", "create_deployment", "update_endpoint", "get_endpoint"]
)
def test_a_failure_after_create_deletes_the_endpoint(tmp_path: Path, step: str) -> None:
    m = _migration(tmp_path)
    client = FakeClient(fail_on=step, error=DeploymentFailedError("init() failed"))
    result = apply(m, client, m.request.output_dir)
    assert not result.succeeded and result.error and "init() failed" in result.error
    assert client.calls[-1] == ("delete_endpoint", "my-endpoint")
    assert client.endpoints == {}
    assert result.cleanup and "deleted endpoint 'my-endpoint'" in result.cleanup[0]


def test_an_existing_endpoint_is_left_alone(tmp_path: Path) -> None:
    m = _migration(tmp_path)
    client = FakeClient(fail_on="create_endpoint", error=ConflictError("exists."))
    result = apply(m, client, m.request.output_dir)
    assert result.error and "--endpoint-name" in result.error
    assert [c[0] for c in client.calls] == ["create_endpoint"]
    assert result.cleanup == []


def test_a_missing_registered_model_gets_a_hint(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "ACI"}), model="iris:2")
    write_outputs(m)
    client = FakeClient(
        fail_on="create_deployment", error=SwitchmanError("Model iris:2 not found.")
    )
    result = apply(m, client, m.request.output_dir)
    assert result.error and "switchman model create -n iris -v 2" in result.error
    assert client.calls[-1][0] == "delete_endpoint"


def test_interrupt_still_cleans_up_and_propagates(tmp_path: Path) -> None:
    m = _migration(tmp_path)
    client = FakeClient(fail_on="create_deployment", error=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        apply(m, client, m.request.output_dir)
    assert client.calls[-1] == ("delete_endpoint", "my-endpoint")


def test_failed_cleanup_is_reported(tmp_path: Path) -> None:
    m = _migration(tmp_path)

    class Stubborn(FakeClient):
        def delete_endpoint(self, name: str) -> None:
            raise SwitchmanError("control plane gone")

    result = apply(m, Stubborn(fail_on="create_deployment"), m.request.output_dir)
    assert result.cleanup and "could not delete" in result.cleanup[0]
