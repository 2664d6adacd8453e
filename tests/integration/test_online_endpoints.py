"""Online endpoints end to end: YAML → running instances → authenticated, traffic-split scoring.

Real `switchman` commands, real processes, real HTTP on 127.0.0.1, real SQLite.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import httpx
import pytest

from tests.support.platform import Platform

pytestmark = pytest.mark.integration

REQUEST = json.dumps(
    {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}
).encode()


@pytest.fixture(scope="module")
def blue_green(platform: Platform, example_dir: Path) -> Platform:
    platform.run("online-endpoint", "create", "-f", str(example_dir / "endpoint.yml"))
    platform.run(
        "online-deployment",
        "create",
        "-f",
        str(example_dir / "blue-deployment.yml"),
        "--all-traffic",
    )
    platform.run("online-deployment", "create", "-f", str(example_dir / "green-deployment.yml"))
    return platform


def test_show_reports_uris_state_and_traffic(blue_green: Platform) -> None:
    view = blue_green.json("online-endpoint", "show", "-n", "my-endpoint")
    router = blue_green.server()["router_url"]
    assert view["scoring_uri"] == f"{router}/endpoints/my-endpoint/score"
    assert view["openapi_uri"] == f"{router}/endpoints/my-endpoint/swagger.json"
    assert view["provisioning_state"] == "Succeeded"
    assert view["traffic"] == {"blue": 100, "green": 0}
    assert view["auth_mode"] == "key"


def test_deployment_show_lists_running_instances(blue_green: Platform) -> None:
    view = blue_green.json("online-deployment", "show", "-n", "blue", "-e", "my-endpoint")
    assert view["provisioning_state"] == "Succeeded"
    assert view["instance_count"] == 1
    [instance] = view["instances"]
    assert instance["state"] == "Ready"
    assert isinstance(instance["pid"], int)
    assert httpx.get(instance["url"] + "/", trust_env=False).text == "Healthy"


def test_invoke_scores_with_the_primary_key(blue_green: Platform) -> None:
    out = blue_green.run(
        "online-endpoint",
        "invoke",
        "-n",
        "my-endpoint",
        "--request-file",
        "/dev/stdin",
        check=False,
    )
    # /dev/stdin is empty here: the router hands the empty body to run(), which fails → 424.
    assert out.returncode != 0
    body = Path(blue_green.home / "req.json")
    body.write_bytes(REQUEST)
    text = json.loads(
        blue_green.run("online-endpoint", "invoke", "-n", "my-endpoint", "-r", str(body)).stdout
    )
    predictions = json.loads(text)
    assert len(predictions) == 2 and all(isinstance(p, float) for p in predictions)


def test_keys_both_work_and_wrong_or_missing_key_is_401(blue_green: Platform) -> None:
    creds = blue_green.json("online-endpoint", "get-credentials", "-n", "my-endpoint")
    assert set(creds) == {"primaryKey", "secondaryKey"}
    for key in (creds["primaryKey"], creds["secondaryKey"]):
        assert blue_green.score("my-endpoint", REQUEST, key=key).status_code == 200
    wrong = blue_green.score("my-endpoint", REQUEST, key="not-a-key")
    assert wrong.status_code == 401
    assert "message" in wrong.json()
    assert blue_green.score("my-endpoint", REQUEST).status_code == 401


def test_header_pins_a_zero_traffic_deployment(blue_green: Platform) -> None:
    key = blue_green.key("my-endpoint")
    response = blue_green.score(
        "my-endpoint", REQUEST, key=key, headers={"azureml-model-deployment": "green"}
    )
    assert response.status_code == 200
    assert response.headers["azureml-model-deployment"] == "green"
    assert response.headers["x-request-id"]
    default = blue_green.score("my-endpoint", REQUEST, key=key)
    assert default.headers["azureml-model-deployment"] == "blue"


def test_traffic_split_follows_weights(blue_green: Platform) -> None:
    blue_green.run(
        "online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue=50 green=50"
    )
    key = blue_green.key("my-endpoint")
    uri = blue_green.json("online-endpoint", "show", "-n", "my-endpoint")["scoring_uri"]
    counts: collections.Counter[str] = collections.Counter()
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(trust_env=False, timeout=30) as http:
        for _ in range(200):
            counts[
                http.post(uri, content=REQUEST, headers=headers).headers["azureml-model-deployment"]
            ] += 1
    # Binomial(200, 0.5): 6 standard deviations is [58, 142].
    assert 58 <= counts["green"] <= 142, counts
    assert counts["blue"] + counts["green"] == 200
    blue_green.run(
        "online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue=100 green=0"
    )


def test_host_header_routes_by_endpoint_name(blue_green: Platform) -> None:
    router = blue_green.server()["router_url"]
    key = blue_green.key("my-endpoint")
    response = httpx.post(
        f"{router}/score",
        content=REQUEST,
        headers={"Host": "my-endpoint.localhost", "Authorization": f"Bearer {key}"},
        trust_env=False,
    )
    assert response.status_code == 200


def test_no_traffic_is_404(blue_green: Platform) -> None:
    blue_green.run("online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue=0 green=0")
    try:
        response = blue_green.score("my-endpoint", REQUEST, key=blue_green.key("my-endpoint"))
        assert response.status_code == 404
        assert response.json()["message"]
    finally:
        blue_green.run(
            "online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue=100 green=0"
        )


def test_regenerated_key_replaces_the_old_one(blue_green: Platform) -> None:
    old = blue_green.json("online-endpoint", "get-credentials", "-n", "my-endpoint")["secondaryKey"]
    blue_green.run(
        "online-endpoint", "regenerate-keys", "-n", "my-endpoint", "--key-type", "secondary"
    )
    new = blue_green.json("online-endpoint", "get-credentials", "-n", "my-endpoint")["secondaryKey"]
    assert new != old
    from tests.support.proc import wait_for

    wait_for(
        lambda: blue_green.score("my-endpoint", REQUEST, key=old).status_code == 401,
        what="old key refused",
    )
    assert blue_green.score("my-endpoint", REQUEST, key=new).status_code == 200


def test_get_logs_shows_both_containers(blue_green: Platform) -> None:
    server_log = blue_green.run(
        "online-deployment", "get-logs", "-n", "blue", "-e", "my-endpoint"
    ).stdout
    assert "init" in server_log.lower()
    init_log = blue_green.run(
        "online-deployment",
        "get-logs",
        "-n",
        "blue",
        "-e",
        "my-endpoint",
        "--container",
        "storage-initializer",
    ).stdout
    assert "staged" in init_log
    lines = blue_green.run(
        "online-deployment", "get-logs", "-n", "blue", "-e", "my-endpoint", "--lines", "2"
    ).stdout
    assert len(lines.strip().splitlines()) == 2


def test_output_formats_and_query(blue_green: Platform) -> None:
    assert (
        blue_green.run(
            "online-endpoint", "show", "-n", "my-endpoint", "--query", "traffic.blue"
        ).stdout.strip()
        == "100"
    )
    table = blue_green.run("online-deployment", "list", "-e", "my-endpoint", "-o", "table").stdout
    assert "blue" in table and "green" in table and "provisioning_state" in table
    tsv = blue_green.run("online-endpoint", "list", "-o", "tsv", "--query", "[].name").stdout
    assert tsv.split() == ["my-endpoint"]
    yaml_out = blue_green.run("online-endpoint", "show", "-n", "my-endpoint", "-o", "yaml").stdout
    assert "scoring_uri:" in yaml_out


def test_delete_with_traffic_is_refused_and_nothing_changes(blue_green: Platform) -> None:
    done = blue_green.run(
        "online-deployment", "delete", "-n", "blue", "-e", "my-endpoint", "--yes", check=False
    )
    assert done.returncode != 0
    assert "traffic" in done.stderr and "Traceback" not in done.stderr
    assert (
        blue_green.json("online-deployment", "show", "-n", "blue", "-e", "my-endpoint")[
            "provisioning_state"
        ]
        == "Succeeded"
    )


def test_status_lists_platform_processes(blue_green: Platform) -> None:
    status = blue_green.json("status")
    names = {p["name"]: p for p in status["processes"]}
    assert set(names) == {"control-plane", "router"}
    assert all(
        p["running"] and p["pid"] and p["url"].startswith("http://127.0.0.1:")
        for p in names.values()
    )


def test_monitoring_sees_requests_events_and_console(blue_green: Platform) -> None:
    from tests.support.proc import wait_for

    response = blue_green.score("my-endpoint", REQUEST, key=blue_green.key("my-endpoint"))
    request_id = response.headers["x-request-id"]

    def logged() -> list[dict[str, object]]:
        rows = blue_green.json("monitor", "traffic-log", "-e", "my-endpoint", "--since", "15m")
        return [r for r in rows if r.get("XRequestId") == request_id]

    [row] = wait_for(logged, timeout=30, what="traffic-log row")
    assert row["DeploymentName"] == "blue" and row["ResponseCode"] == 200
    names = {
        e["name"] for e in blue_green.json("monitor", "events", "-e", "my-endpoint", "-d", "blue")
    }
    assert {"Created", "Started", "Ready"} <= names
    query = "SELECT Message FROM AmlOnlineEndpointConsoleLog WHERE DeploymentName = 'blue'"
    console = wait_for(
        lambda: [
            r
            for r in blue_green.json("monitor", "query", query)
            if "init" in str(r.get("Message", "")).lower()
        ],
        timeout=30,
        what="console log rows",
    )
    assert console
    swagger = httpx.get(
        blue_green.json("online-endpoint", "show", "-n", "my-endpoint")["openapi_uri"],
        headers={"Authorization": f"Bearer {blue_green.key('my-endpoint')}"},
        trust_env=False,
    )
    assert swagger.status_code == 200 and "paths" in swagger.json()
