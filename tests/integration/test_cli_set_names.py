"""`--set endpoint_name=X` targets endpoint X for create and update (issue #14 part 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.platform import Platform

pytestmark = pytest.mark.integration


def test_set_endpoint_name_targets_that_endpoint(platform: Platform, example_dir: Path) -> None:
    # The file names endpoint my-endpoint, which does not exist: only --set points at set-ep.
    platform.run("online-endpoint", "create", "-n", "set-ep")
    deployment = str(example_dir / "blue-deployment.yml")
    view = platform.json(
        "online-deployment",
        "create",
        "-f",
        deployment,
        "--set",
        "endpoint_name=set-ep",
        "--set",
        f"code_configuration.code={example_dir / 'model-1' / 'onlinescoring'}",
        "--set",
        "name=teal",
    )
    assert (view["endpoint_name"], view["name"], view["provisioning_state"]) == (
        "set-ep",
        "teal",
        "Succeeded",
    )
    view = platform.json(
        "online-deployment",
        "update",
        "-f",
        deployment,
        "--set",
        "endpoint_name=set-ep",
        "--set",
        "name=teal",
        "--set",
        "instance_count=2",
    )
    assert (view["endpoint_name"], view["instance_count"]) == ("set-ep", 2)
    endpoint = platform.json(
        "online-endpoint", "update", "--set", "name=set-ep", "--set", "tags.team=ml"
    )
    assert endpoint["tags"] == {"team": "ml"}
    assert platform.json("online-deployment", "list", "-e", "set-ep")[0]["name"] == "teal"
