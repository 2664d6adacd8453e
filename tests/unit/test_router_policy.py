"""Pure routing decisions, the route-table parser, metrics helpers and header rules."""

from __future__ import annotations

import random
import uuid

import pytest

from switchman.dataplane.metrics import Metrics, bucket_of, bucket_upper, percentile
from switchman.dataplane.policy import admission_limit, pick_deployment, pick_instance, pick_mirror
from switchman.dataplane.service import client_request_id, endpoint_from_host, new_request_id
from switchman.dataplane.table import parse_table
from switchman.errors import BadArgumentError


def test_pick_deployment_follows_the_weights() -> None:
    traffic = (("blue", 90), ("green", 10), ("off", 0))
    assert pick_deployment(traffic, lambda: 0.0) == "blue"
    assert pick_deployment(traffic, lambda: 0.8999) == "blue"
    assert pick_deployment(traffic, lambda: 0.9) == "green"
    assert pick_deployment(traffic, lambda: 0.999999) == "green"
    assert pick_deployment((("a", 0),), lambda: 0.5) is None
    assert pick_deployment((), lambda: 0.5) is None
    rng = random.Random(7).random
    picks = [pick_deployment(traffic, rng) for _ in range(10_000)]
    assert 850 <= picks.count("green") <= 1150
    assert "off" not in picks


def test_pick_mirror_and_instance() -> None:
    assert pick_mirror((("green", 10),), lambda: 0.05) == "green"
    assert pick_mirror((("green", 10),), lambda: 0.1) is None
    assert pick_mirror((), lambda: 0.0) is None
    assert pick_instance([1, 0, 0], 2, [True, True, True]) == 1  # least busy, lowest index
    assert pick_instance([1, 0], 2, [True, False]) == 0
    assert pick_instance([2, 2], 2, [True, True]) is None  # all full
    assert pick_instance([0], 1, [False]) is None
    assert admission_limit(3, 2) == 12


def test_parse_table_and_its_errors() -> None:
    table = parse_table(
        {
            "version": 3,
            "endpoints": {
                "ep": {
                    "auth_mode": "key",
                    "key_sha256": ["AB"],
                    "traffic": {"blue": 60, "green": 40},
                    "deployments": {
                        "blue": {
                            "request_timeout_ms": 100,
                            "max_concurrent_requests_per_instance": 2,
                            "instances": [
                                {
                                    "id": "b1",
                                    "url": "http://127.0.0.1:1234",
                                    "ready": True,
                                    "pid": 42,
                                },
                                {"id": "b2", "url": "http://127.0.0.1:1235", "ready": False},
                            ],
                        }
                    },
                }
            },
        }
    )
    ep = table.endpoints["ep"]
    assert ep.key_sha256 == ("ab",)
    assert ep.busiest_deployment == "blue"
    blue = ep.deployments["blue"]
    assert [i.id for i in blue.ready_instances] == ["b1"]
    assert blue.instances[0].pid == 42 and blue.instances[0].port == 1234
    with pytest.raises(BadArgumentError, match="version"):
        parse_table({"endpoints": {}})
    with pytest.raises(BadArgumentError, match=r"endpoints\.ep\.auth_mode"):
        parse_table({"version": 1, "endpoints": {"ep": {"auth_mode": "magic"}}})
    with pytest.raises(BadArgumentError, match=r"instances\[0\]\.url"):
        parse_table(
            {
                "version": 1,
                "endpoints": {"ep": {"deployments": {"d": {"instances": [{"url": "ftp://x"}]}}}},
            }
        )
    with pytest.raises(BadArgumentError, match=r"traffic\.blue"):
        parse_table({"version": 1, "endpoints": {"ep": {"traffic": {"blue": 101}}}})


def test_headers_and_host_rules() -> None:
    ids = {new_request_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
    assert all(uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)
    assert client_request_id("ab c$d-_e") == "abcd-_e"
    assert client_request_id("x" * 50) == "x" * 40
    assert client_request_id(None) == ""
    assert endpoint_from_host("my-ep.localhost:8080", "localhost") == "my-ep"
    assert endpoint_from_host("my-ep.ML.example.com", "ml.example.com") == "my-ep"
    assert endpoint_from_host("a.b.localhost", "localhost") is None
    assert endpoint_from_host("localhost:8080", "localhost") is None
    assert endpoint_from_host("127.0.0.1:8080", "localhost") is None
    assert endpoint_from_host(None, "localhost") is None


def test_latency_histogram_and_roll_up() -> None:
    for ms in (0.001, 0.5, 3.0, 250.0, 4000.0):
        assert bucket_upper(bucket_of(ms)) >= ms
        assert bucket_upper(bucket_of(ms)) <= max(ms * 1.1, 0.01) + 1e-9
    counts = [0] * 200
    for ms in range(1, 101):
        counts[bucket_of(float(ms))] += 1
    assert 50 <= percentile(counts, 50) <= 55
    assert 99 <= percentile(counts, 99) <= 109
    assert percentile([0] * 200, 99) == 0.0

    now = [1000.0]
    metrics = Metrics(clock=lambda: now[0])
    for ms in (10.0, 20.0, 30.0):
        metrics.record("ep", "blue", 200, "200", ms, 100)
    metrics.record("ep", "blue", 424, "500", 5.0, 10)
    now[0] = 1060.0
    records = metrics.summarise(metrics.swap(), [])
    by_name = {(r.name, r.dimensions.get("statusCode")): r for r in records}
    assert by_name[("RequestsPerMinute", "200")].value == pytest.approx(3.0)
    assert by_name[("RequestsPerMinute", "424")].dimensions["modelStatusCode"] == "500"
    assert by_name[("RequestLatency", None)].value == pytest.approx(16.25)
    assert by_name[("NetworkBytes", None)].value == pytest.approx(310 / 60)
    assert metrics.window.requests == {}
    assert b"RequestLatency_P99" in metrics.exposition()
