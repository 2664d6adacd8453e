"""The router as a real process in front of stand-in instances: Azure ML's wire contract."""

from __future__ import annotations

import concurrent.futures
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.proc import free_port, stop_process, wait_for
from tests.support.router import (
    AUTH,
    RouterProcess,
    Upstream,
    deployment,
    endpoint,
    router,
    upstreams,
)

pytestmark = pytest.mark.integration

BODY_LIMIT = 65536


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RouterProcess, dict[str, Upstream]]]:
    tmp = tmp_path_factory.mktemp("router")
    with (
        upstreams(tmp, "b1", "b2", "g1") as ups,
        router(tmp / "home", "--max-body-bytes", str(BODY_LIMIT), "--metrics-interval", "1") as r,
    ):
        yield r, ups


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        yield c


def _blue_green(ups: dict[str, Upstream], traffic: dict[str, int], **kw: Any) -> dict[str, Any]:
    return {
        "ep": endpoint(
            {
                "blue": deployment(ups["b1"].entry(), ups["b2"].entry(), mcr=kw.pop("mcr", 1)),
                "green": deployment(ups["g1"].entry()),
            },
            traffic,
            **kw,
        )
    }


def _score(
    client: httpx.Client, r: RouterProcess, body: Any = None, **headers: str
) -> httpx.Response:
    return client.post(f"{r.url}/endpoints/ep/score", json=body or {}, headers={**AUTH, **headers})


def _error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) >= {"message", "code", "request_id"}
    assert body["request_id"] == resp.headers["x-request-id"]
    if code:
        assert body["code"] == code
    return dict(body)


def test_ready_only_after_a_route_table(tmp_path: Path) -> None:
    with router(tmp_path / "home") as r:
        assert httpx.get(r.url + "/-/ready").status_code == 503
        _error(httpx.post(r.url + "/endpoints/ep/score", json={}), 503, "RouterNotReady")
        r.publish({})
        assert httpx.get(r.url + "/-/ready").status_code == 200


def test_key_auth_accepts_both_keys_and_rejects_others(env, client) -> None:
    r, ups = env
    r.publish(_blue_green(ups, {"blue": 100}))
    for key in ("primary-key", "secondary-key"):
        resp = _score(client, r, Authorization=f"Bearer {key}")
        assert resp.status_code == 200
        assert resp.headers["azureml-model-deployment"] == "blue"
        assert len(resp.headers["x-request-id"]) == 36
        # the caller's credential never reaches user code
        assert "authorization" not in resp.json()["headers"]
    _error(_score(client, r, Authorization="Bearer wrong"), 401, "Unauthorized")
    _error(client.post(f"{r.url}/endpoints/ep/score", json={}), 401)
    _error(_score(client, r, Authorization="Basic primary-key"), 401)


def test_token_auth(env, client) -> None:
    r, ups = env
    private = Ed25519PrivateKey.generate()
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    table = _blue_green(ups, {"blue": 100}, auth_mode="aml_token", audience="switchman:ep")
    r.publish(table, token_public_key=public)

    def token(aud: str = "switchman:ep", exp: float = 600) -> str:
        return jwt.encode(
            {"aud": aud, "exp": int(time.time() + exp), "sub": "u"}, private, algorithm="EdDSA"
        )

    good = token()
    assert _score(client, r, Authorization=f"Bearer {good}").status_code == 200
    assert _score(client, r, Authorization=f"Bearer {good}").status_code == 200  # cached path
    _error(_score(client, r, Authorization=f"Bearer {token(aud='switchman:other')}"), 401)
    _error(_score(client, r, Authorization=f"Bearer {token(exp=-10)}"), 401)
    other = Ed25519PrivateKey.generate()
    forged = jwt.encode(
        {"aud": "switchman:ep", "exp": int(time.time() + 600)}, other, algorithm="EdDSA"
    )
    _error(_score(client, r, Authorization=f"Bearer {forged}"), 401)
    _error(_score(client, r), 401)  # a key is not a token


def test_host_header_routing_and_swagger(env, client) -> None:
    r, ups = env
    r.publish(_blue_green(ups, {"blue": 30, "green": 70}))
    resp = client.post(
        f"{r.url}/score", json={}, headers={**AUTH, "Host": f"ep.localhost:{r.port}"}
    )
    assert resp.status_code == 200
    _error(
        client.post(
            f"{r.url}/score", json={}, headers={**AUTH, "Host": f"nope.example.com:{r.port}"}
        ),
        404,
    )
    _error(
        client.post(
            f"{r.url}/score", json={}, headers={**AUTH, "Host": f"other.localhost:{r.port}"}
        ),
        404,
    )
    swagger = client.get(f"{r.url}/endpoints/ep/swagger.json?version=3", headers=AUTH)
    assert swagger.status_code == 200
    assert swagger.json() == {
        "swagger": "2.0",
        "instance": "g1",
        "query": "version=3",
    }  # most traffic
    assert swagger.headers["azureml-model-deployment"] == "green"
    pinned = client.get(
        f"{r.url}/swagger.json",
        headers={**AUTH, "Host": "ep.localhost", "azureml-model-deployment": "blue"},
    )
    assert pinned.json()["instance"] in ("b1", "b2")


def test_pinning_and_not_found_cases(env, client) -> None:
    r, ups = env
    r.publish(_blue_green(ups, {"blue": 100, "green": 0}))
    for _ in range(5):
        resp = _score(client, r, **{"azureml-model-deployment": "green"})
        assert resp.status_code == 200 and resp.json()["instance"] == "g1"
        assert resp.headers["azureml-model-deployment"] == "green"
    _error(_score(client, r, **{"azureml-model-deployment": "nope"}), 404)
    _error(client.post(f"{r.url}/endpoints/unknown/score", json={}, headers=AUTH), 404)
    _error(client.post(f"{r.url}/endpoints/ep/other", json={}, headers=AUTH), 404)
    r.publish(_blue_green(ups, {"blue": 0, "green": 0}))
    _error(_score(client, r), 404)
    assert _score(client, r, **{"azureml-model-deployment": "blue"}).status_code == 200


def test_weighted_split_is_within_statistical_bounds(env, client) -> None:
    r, ups = env
    r.publish(_blue_green(ups, {"blue": 80, "green": 20}, mcr=4))
    n = 300
    served = [_score(client, r).headers["azureml-model-deployment"] for _ in range(n)]
    green = served.count("green")
    # binomial(300, 0.2): mean 60, sd 6.9; ±5 sd keeps a false failure below one in a million
    assert 25 <= green <= 95, green
    assert served.count("blue") + green == n


def test_429_when_more_than_twice_the_capacity_is_in_flight(env, client) -> None:
    r, ups = env
    r.publish({"ep": endpoint({"green": deployment(ups["g1"].entry(), mcr=1)}, {"green": 100})})
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        slow = [pool.submit(_score, httpx.Client(timeout=30), r, {"sleep": 1.0}) for _ in range(2)]
        wait_for(lambda: ups["g1"].stats()["active"] == 1, timeout=10, what="first request running")
        time.sleep(
            0.1
        )  # let the second request reach the router's queue (nothing observable to poll)
        started = time.monotonic()
        resp = _score(client, r)
        assert time.monotonic() - started < 0.5  # fail fast, no queueing
        body = _error(resp, 429, "TooManyRequests")
        assert resp.headers["retry-after"] == "1"
        assert resp.headers["azureml-model-deployment"] == "green"
        assert body["details"] == {
            "in_flight": 2,
            "limit": 2,
            "max_concurrent_requests_per_instance": 1,
            "ready_instances": 1,
        }
        assert [f.result().status_code for f in slow] == [200, 200]
    assert ups["g1"].stats()["peak"] == 1  # the queued request waited for the free slot


def test_408_after_request_timeout_and_the_slot_is_released(env, client) -> None:
    r, ups = env
    r.publish(
        {"ep": endpoint({"green": deployment(ups["g1"].entry(), timeout_ms=300)}, {"green": 100})}
    )
    started = time.monotonic()
    body = _error(_score(client, r, {"sleep": 2}), 408, "RequestTimeout")
    assert time.monotonic() - started < 1.5
    assert "300 ms" in body["message"]
    for _ in range(3):  # the timed-out request does not hold the deployment's only slot
        assert _score(client, r).status_code == 200


def test_424_carries_the_model_status(env, client) -> None:
    r, ups = env
    r.publish(_blue_green(ups, {"blue": 100}))
    resp = _score(client, r, {"status": 500})
    body = _error(resp, 424, "ModelError")
    assert resp.headers["ms-azureml-model-error-statuscode"] == "500"
    assert resp.headers["ms-azureml-model-error-reason"] == "Internal Server Error"
    assert resp.headers["azureml-model-deployment"] == "blue"
    assert body["details"]["model_status_code"] == 500
    assert "failed on purpose" in body["details"]["model_message"]


def test_503_without_a_ready_instance(env, client) -> None:
    r, ups = env
    r.publish({"ep": endpoint({"blue": deployment(ups["b1"].entry(ready=False))}, {"blue": 100})})
    resp = _score(client, r)
    body = _error(resp, 503, "NoReadyInstance")
    assert "no ready instance" in body["message"]
    assert resp.headers["azureml-model-deployment"] == "blue"


def test_413_above_the_body_limit(env, client) -> None:
    r, ups = env
    r.publish(_blue_green(ups, {"blue": 100}))
    big = b"x" * (BODY_LIMIT + 1)
    resp = client.post(f"{r.url}/endpoints/ep/score", content=big, headers=AUTH)
    _error(resp, 413, "PayloadTooLarge")
    assert _score(client, r).status_code == 200


def test_client_request_id_is_sanitised_and_echoed(env, client) -> None:
    r, ups = env
    r.publish(_blue_green(ups, {"blue": 100}))
    raw = "abc$%^def-_" + "z" * 60
    resp = _score(client, r, **{"x-ms-client-request-id": raw, "x-request-id": "mine"})
    expected = ("abcdef-_" + "z" * 60)[:40]
    assert resp.headers["x-ms-client-request-id"] == expected
    assert resp.headers["x-request-id"] != "mine"
    assert resp.json()["headers"]["x-ms-client-request-id"] == expected
    assert resp.json()["headers"]["x-request-id"] == resp.headers["x-request-id"]


def test_retry_before_send_when_an_instance_is_gone(env, client, tmp_path: Path) -> None:
    r, ups = env
    dead = {"id": "dead", "url": f"http://127.0.0.1:{free_port()}", "ready": True}
    with upstreams(tmp_path, "k1") as extra:
        killed = extra["k1"]
        r.publish(
            {
                "ep": endpoint(
                    {"blue": deployment(dead, killed.entry(), ups["b1"].entry(), mcr=2)},
                    {"blue": 100},
                )
            }
        )
        ids = []
        for _ in range(10):  # warm pooled connections to k1 and b1
            resp = _score(client, r)
            assert resp.status_code == 200
            ids.append(resp.headers["x-request-id"])
        stop_process(killed.proc)
        for _ in range(20):
            resp = _score(client, r)
            assert resp.status_code == 200, resp.text
            ids.append(resp.headers["x-request-id"])
    executed = killed.call_ids() + ups["b1"].call_ids()
    for rid in ids:
        assert executed.count(rid) == 1, rid  # run() ran once for every request


def test_mirror_copies_a_share_and_never_delays_live(env, client, tmp_path: Path) -> None:
    r, ups = env
    r.publish(_blue_green(ups, {"blue": 100}, mirror={"green": 50}, mcr=4))
    before = len(ups["g1"].call_ids())
    n = 200
    for _ in range(n):
        resp = _score(client, r)
        assert resp.headers["azureml-model-deployment"] == "blue"
    wait_for(
        lambda: r.metrics_value("switchman_requests_total", deployment="green") >= 1,
        what="mirror counted",
    )
    # binomial(200, 0.5): mean 100, sd 7.1; ±5 sd
    wait_for(lambda: len(ups["g1"].call_ids()) - before >= 64, timeout=10, what="mirror copies")
    mirrored = len(ups["g1"].call_ids()) - before
    assert 64 <= mirrored <= 136, mirrored
    # pinned requests are never mirrored
    before = len(ups["g1"].call_ids())
    for _ in range(20):
        _score(client, r, **{"azureml-model-deployment": "blue"})
    assert len(ups["g1"].call_ids()) == before

    with upstreams(tmp_path, "slow", delay=3.0) as slow:
        table = {
            "ep": endpoint(
                {
                    "blue": deployment(ups["b1"].entry(), mcr=4),
                    "shadow": deployment(slow["slow"].entry(), mcr=1),
                },
                {"blue": 100},
                mirror={"shadow": 50},
            )
        }
        r.publish(table)
        started = time.monotonic()
        for _ in range(30):
            assert _score(client, r).status_code == 200
        assert (
            time.monotonic() - started < 3.0
        )  # the slow mirror (3 s per call) did not hold anyone up


def test_route_table_reload_and_last_table_kept(env, client) -> None:
    r, ups = env
    r.publish(_blue_green(ups, {"blue": 100}))
    routes = r.home / "routes.json"
    both = _blue_green(ups, {"blue": 100})
    both["ep2"] = endpoint({"green": deployment(ups["g1"].entry())}, {"green": 100})
    r.publish(both)
    assert client.post(f"{r.url}/endpoints/ep2/score", json={}, headers=AUTH).status_code == 200
    routes.unlink()  # the control plane is gone and its file with it
    time.sleep(0.3)  # several poll periods; nothing observable changes, which is the point
    assert client.get(f"{r.url}/-/ready").status_code == 200
    assert client.post(f"{r.url}/endpoints/ep2/score", json={}, headers=AUTH).status_code == 200
    routes.write_text("{not json")
    time.sleep(0.3)
    assert client.get(f"{r.url}/-/routes").json() == {"version": r.version}
    assert client.post(f"{r.url}/endpoints/ep2/score", json={}, headers=AUTH).status_code == 200
    r.publish(_blue_green(ups, {"blue": 100}))
    _error(client.post(f"{r.url}/endpoints/ep2/score", json={}, headers=AUTH), 404)


def test_traffic_log_rows_and_metric_names(env, client) -> None:
    r, ups = env
    r.publish(_blue_green(ups, {"blue": 100}))
    ok = _score(client, r, **{"User-Agent": "tester/1.0", "x-ms-client-request-id": "cid-1"})
    bad = _score(client, r, {"status": 418})
    db = r.home / "state.db"

    def row(rid: str) -> dict[str, Any] | None:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            conn.row_factory = sqlite3.Row
            found = conn.execute(
                "SELECT * FROM traffic_log WHERE XRequestId = ?", (rid,)
            ).fetchone()
            return dict(found) if found else None

    first = wait_for(lambda: row(ok.headers["x-request-id"]), timeout=10, what="traffic-log row")
    assert first["EndpointName"] == "ep" and first["DeploymentName"] == "blue"
    assert first["ResponseCode"] == 200 and first["ModelStatusCode"] == "200"
    assert first["UserAgent"] == "tester/1.0" and first["XMSClientRequestId"] == "cid-1"
    assert first["Method"] == "POST" and first["Path"] == "/endpoints/ep/score"
    assert (
        first["TotalDurationMs"] >= first["ResponseDurationMs"] >= first["RequestDurationMs"] >= 0
    )
    second = wait_for(lambda: row(bad.headers["x-request-id"]), timeout=10, what="traffic-log row")
    assert second["ResponseCode"] == 424 and second["ModelStatusCode"] == "418"
    text = client.get(f"{r.url}/metrics").text
    for name in (
        "RequestsPerMinute",
        "RequestLatency",
        "RequestLatency_P50",
        "RequestLatency_P90",
        "RequestLatency_P95",
        "RequestLatency_P99",
        "ConnectionsActive",
        "NetworkBytes",
        "CpuUtilizationPercentage",
        "CpuMemoryUtilizationPercentage",
        "DeploymentCapacity",
    ):
        assert f"# TYPE {name} gauge" in text, name
    wait_for(
        lambda: (
            'RequestsPerMinute{deployment="blue",endpoint="ep",modelStatusCode="418",statusCode="424",statusCodeClass="4xx"}'
            in client.get(f"{r.url}/metrics").text
        ),
        timeout=10,
        what="a roll-up with the 424",
    )
