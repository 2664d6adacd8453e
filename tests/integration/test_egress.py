"""The outbound toggle: an egress-disabled deployment runs in its own network namespace (loopback
only inside) and is served by the router over a Unix socket; a normal one beside it is not."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.platform import Platform

pytestmark = pytest.mark.integration

CODE = Path(__file__).resolve().parent.parent / "testdata" / "security" / "egress"


def _spec(tmp: Path, name: str, egress: str) -> Path:
    path = tmp / f"{name}.yml"
    path.write_text(
        f"name: {name}\nendpoint_name: egress\ncode_configuration:\n  code: {CODE}\n"
        "  scoring_script: score.py\ninstance_type: Standard_DS2_v2\ninstance_count: 1\n"
        f"egress_public_network_access: {egress}\n"
    )
    return path


def test_egress_disabled_instance_cannot_connect_out(platform: Platform, tmp_path: Path) -> None:
    platform.run("online-endpoint", "create", "-n", "egress")
    platform.run("online-deployment", "create", "-f", str(_spec(tmp_path, "closed", "disabled")))
    platform.run("online-deployment", "create", "-f", str(_spec(tmp_path, "open", "enabled")))
    api = urlsplit(platform.server()["api_url"])
    target = json.dumps({"host": "127.0.0.1", "port": api.port}).encode()
    key = platform.key("egress")

    closed = platform.score(
        "egress", target, key=key, headers={"azureml-model-deployment": "closed"}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["outcome"].startswith("blocked"), closed.json()
    assert closed.json()["interfaces"] == ["lo"]
    opened = platform.score("egress", target, key=key, headers={"azureml-model-deployment": "open"})
    assert opened.status_code == 200 and opened.json()["outcome"] == "connected"

    shown = platform.json("online-deployment", "show", "-n", "closed", "-e", "egress")
    assert all(i["url"].startswith("unix:/") for i in shown["instances"]), shown["instances"]
    routes = json.loads((platform.home / "routes.json").read_text())
    urls = [i["url"] for i in routes["endpoints"]["egress"]["deployments"]["closed"]["instances"]]
    assert urls and all(u.startswith("unix:/") for u in urls)
