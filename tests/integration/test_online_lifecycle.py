"""Lifecycle: scale, update, delete, local endpoints, `az ml` script compatibility, restart."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.platform import Platform, running_platform
from tests.support.proc import wait_for

pytestmark = pytest.mark.integration

REQUEST = json.dumps({"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}).encode()


def pids(platform: Platform, endpoint: str, deployment: str) -> list[int]:
    view = platform.json("online-deployment", "show", "-n", deployment, "-e", endpoint)
    return [i["pid"] for i in view["instances"] if i["state"] == "Ready"]


def test_az_ml_script_runs_with_switchman(platform: Platform, example_dir: Path) -> None:
    """The documented blue/green script of §13.1, with `az ml` replaced by `switchman`."""
    ep = "script-ep"
    platform.run("online-endpoint", "create", "--name", ep, "-f", str(example_dir / "endpoint.yml"))
    platform.run(
        "online-deployment",
        "create",
        "--name",
        "blue",
        "--endpoint",
        ep,
        "-f",
        str(example_dir / "blue-deployment.yml"),
        "--all-traffic",
    )
    assert (
        platform.run("online-endpoint", "show", "-n", ep, "--query", "traffic")
        .stdout.strip()
        .replace(" ", "")
        .replace("\n", "")
        == '{"blue":100}'
    )
    platform.run(
        "online-deployment",
        "update",
        "--name",
        "blue",
        "--endpoint",
        ep,
        "--set",
        "instance_count=2",
    )
    assert len(pids(platform, ep, "blue")) == 2
    platform.run(
        "online-deployment",
        "create",
        "--name",
        "green",
        "--endpoint",
        ep,
        "-f",
        str(example_dir / "green-deployment.yml"),
    )
    platform.run("online-endpoint", "update", "--name", ep, "--mirror-traffic", "green=10")
    assert platform.json("online-endpoint", "show", "-n", ep)["mirror_traffic"] == {"green": 10}
    platform.run("online-endpoint", "update", "--name", ep, "--mirror-traffic", "green=0")
    platform.run("online-endpoint", "update", "--name", ep, "--traffic", "blue=90 green=10")
    platform.run("online-endpoint", "update", "--name", ep, "--traffic", "blue=0 green=100")
    blue_pids = pids(platform, ep, "blue")
    platform.run(
        "online-deployment", "delete", "--name", "blue", "--endpoint", ep, "--yes", "--no-wait"
    )
    wait_for(
        lambda: all(not psutil.pid_exists(p) for p in blue_pids),
        timeout=30,
        what="blue instances stopped",
    )
    green_pids = pids(platform, ep, "green")
    platform.run("online-endpoint", "delete", "--name", ep, "-y")
    assert all(not psutil.pid_exists(p) for p in green_pids)
    assert ep not in [e["name"] for e in platform.json("online-endpoint", "list")]


def test_scale_without_restart_and_update_replaces_instances(
    platform: Platform, example_dir: Path
) -> None:
    ep = "scale-ep"
    platform.run("online-endpoint", "create", "-n", ep)
    platform.run(
        "online-deployment",
        "create",
        "-f",
        str(example_dir / "blue-deployment.yml"),
        "-e",
        ep,
        "--all-traffic",
    )
    [first] = pids(platform, ep, "blue")
    platform.run("online-deployment", "update", "-n", "blue", "-e", ep, "--set", "instance_count=2")
    scaled = pids(platform, ep, "blue")
    assert first in scaled and len(scaled) == 2  # scaling out restarts nothing
    platform.run(
        "online-deployment",
        "update",
        "-n",
        "blue",
        "-e",
        ep,
        "--set",
        "environment_variables.GREETING=hi",
    )
    updated = pids(platform, ep, "blue")
    assert len(updated) == 2 and not set(updated) & set(scaled)  # a spec change replaces instances
    platform.run("online-deployment", "update", "-n", "blue", "-e", ep, "--set", "instance_count=1")
    assert len(pids(platform, ep, "blue")) == 1
    platform.run("online-endpoint", "delete", "-n", ep, "--yes")


def test_local_endpoint(platform: Platform, example_dir: Path) -> None:
    # `create --local` of a deployment creates the local endpoint; no auth; one deployment.
    platform.run(
        "online-deployment",
        "create",
        "--local",
        "-f",
        str(example_dir / "blue-deployment.yml"),
        "-e",
        "local-ep",
    )
    view = platform.json("online-endpoint", "show", "--local", "-n", "local-ep")
    assert view["location"] == "local"
    assert [e["name"] for e in platform.json("online-endpoint", "list", "--local")] == ["local-ep"]
    body = example_dir / "sample-request.json"
    out = platform.run(
        "online-endpoint", "invoke", "--local", "-n", "local-ep", "--request-file", str(body)
    ).stdout
    assert len(json.loads(json.loads(out))) == 2
    assert platform.score("local-ep", REQUEST, local=True).status_code == 200  # no key needed
    # A managed endpoint of the same name lives beside the local one, as in Azure ML.
    platform.run("online-endpoint", "create", "-n", "local-ep")
    assert platform.json("online-endpoint", "show", "-n", "local-ep")["location"] == "switchman"
    assert platform.score("local-ep", REQUEST, local=True).status_code == 200
    assert platform.score("local-ep", REQUEST).status_code == 401  # key auth
    platform.run("online-endpoint", "delete", "-n", "local-ep", "--yes")
    logs = platform.run(
        "online-deployment", "get-logs", "--local", "-n", "blue", "-e", "local-ep"
    ).stdout
    assert logs
    done = platform.run(
        "online-deployment",
        "create",
        "--local",
        "-f",
        str(example_dir / "green-deployment.yml"),
        "-e",
        "local-ep",
        check=False,
    )
    assert done.returncode != 0 and "one deployment" in done.stderr
    platform.run("online-endpoint", "delete", "--local", "-n", "local-ep", "--yes")


def test_down_then_up_restores_everything(tmp_path: Path, example_dir: Path) -> None:
    home = tmp_path / "home"
    with running_platform(home) as first:
        first.run("online-endpoint", "create", "-f", str(example_dir / "endpoint.yml"))
        first.run(
            "online-deployment",
            "create",
            "-f",
            str(example_dir / "blue-deployment.yml"),
            "--all-traffic",
        )
        first.run("online-deployment", "create", "-f", str(example_dir / "green-deployment.yml"))
        first.run("online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue=70 green=30")
        keys = first.json("online-endpoint", "get-credentials", "-n", "my-endpoint")
        before = pids(first, "my-endpoint", "blue") + pids(first, "my-endpoint", "green")
        first.run("down")
        assert all(not psutil.pid_exists(p) for p in before)
        assert first.run("online-endpoint", "list", check=False).returncode != 0
        first.run("up")
        assert first.json("online-endpoint", "get-credentials", "-n", "my-endpoint") == keys
        assert first.json("online-endpoint", "show", "-n", "my-endpoint")["traffic"] == {
            "blue": 70,
            "green": 30,
        }
        for name in ("blue", "green"):
            wait_for(
                lambda n=name: len(pids(first, "my-endpoint", n)) == 1,
                timeout=120,
                what=f"{name} back",
            )
        wait_for(
            lambda: first.score("my-endpoint", REQUEST, key=keys["primaryKey"]).status_code == 200,
            timeout=30,
        )


def test_aml_token_auth(platform: Platform, example_dir: Path, tmp_path: Path) -> None:
    spec = tmp_path / "token-ep.yml"
    spec.write_text("name: token-ep\nauth_mode: aml_token\n")
    platform.run("online-endpoint", "create", "-f", str(spec))
    platform.run(
        "online-deployment",
        "create",
        "-f",
        str(example_dir / "blue-deployment.yml"),
        "-e",
        "token-ep",
        "--all-traffic",
    )
    creds = platform.json("online-endpoint", "get-credentials", "-n", "token-ep")
    assert set(creds) == {"accessToken", "expiryTimeUtc", "refreshAfterTimeUtc", "tokenType"}
    assert platform.score("token-ep", REQUEST, key=creds["accessToken"]).status_code == 200
    assert platform.score("token-ep", REQUEST, key="not-a-token").status_code == 401
    done = platform.run("online-endpoint", "regenerate-keys", "-n", "token-ep", check=False)
    assert done.returncode != 0 and "aml_token" in done.stderr
    out = platform.run(
        "online-endpoint",
        "invoke",
        "-n",
        "token-ep",
        "-r",
        str(example_dir / "sample-request.json"),
    )
    assert len(json.loads(json.loads(out.stdout))) == 2
    platform.run("online-endpoint", "delete", "-n", "token-ep", "-y")


def test_public_host_and_quota_settings(tmp_path: Path, example_dir: Path) -> None:
    settings = ("--public-host", "ml.example.com", "--quota-vcpus", "4")
    with running_platform(tmp_path / "home", *settings) as public:
        public.run("online-endpoint", "create", "-n", "dns-ep")
        view = public.json("online-endpoint", "show", "-n", "dns-ep")
        port = public.server()["router_port"]
        assert view["scoring_uri"] == f"http://dns-ep.ml.example.com:{port}/score"
        assert view["openapi_uri"] == f"http://dns-ep.ml.example.com:{port}/swagger.json"
        key = public.key("dns-ep")
        router = public.server()["router_url"]
        headers = {"Authorization": f"Bearer {key}"}
        # The router resolves the endpoint from the Host header: known endpoint, no deployment → 404.
        hit = httpx.post(
            f"{router}/score",
            headers={**headers, "Host": f"dns-ep.ml.example.com:{port}"},
            trust_env=False,
        )
        miss = httpx.post(
            f"{router}/score",
            headers={**headers, "Host": f"nope.ml.example.com:{port}"},
            trust_env=False,
        )
        assert hit.status_code == 404 and miss.status_code == 404
        assert hit.json()["message"] != miss.json()["message"]
        # 1 × Standard_DS3_v2 reserves ⌈1.2⌉ × 4 = 8 vCPUs: over a quota of 4.
        blue = str(example_dir / "blue-deployment.yml")
        done = public.run("online-deployment", "create", "-f", blue, "-e", "dns-ep", check=False)
        assert done.returncode != 0 and "quota is 4 vCPUs" in done.stderr
