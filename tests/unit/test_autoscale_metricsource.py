"""Fine-grain metric windows: the router's fine records and the rules' reader (real SQLite file)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from switchman.autoscale import setting as S
from switchman.autoscale.metricsource import MetricSource
from switchman.dataplane.metrics import DeploymentLoad, Window, fine_records

DEP = "/switchman/onlineEndpoints/ep/deployments/blue"
EP = "/switchman/onlineEndpoints/ep"


def rule(condition: str, resource: str = DEP, timegrain: str | None = None) -> S.Rule:
    doc = S.new_setting("s", DEP, minimum=1, maximum=3, count=1)
    doc["profiles"][0]["rules"].append(
        S.make_rule(condition, ["out", "1"], resource_uri=resource, timegrain=timegrain)
    )
    return S.parse(doc).profiles[0].rules[0]


def source(tmp_path: Path) -> MetricSource:
    conn = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    return MetricSource(conn)


def put(src: MetricSource, rows: list[tuple[float, str, str, str, dict[str, str], float]]) -> None:
    src.write([(t, "ep", dep, inst, name, dims, v) for t, dep, inst, name, dims, v in rows])


def test_cpu_is_averaged_across_instances_per_grain(tmp_path: Path) -> None:
    src = source(tmp_path)
    put(
        src,
        [
            (100.0, "blue", "i1", "CpuUtilizationPercentage", {"instanceId": "i1"}, 80.0),
            (100.0, "blue", "i2", "CpuUtilizationPercentage", {"instanceId": "i2"}, 40.0),
            (101.0, "blue", "i1", "CpuUtilizationPercentage", {"instanceId": "i1"}, 10.0),
            (101.0, "green", "g1", "CpuUtilizationPercentage", {"instanceId": "g1"}, 99.0),
        ],
    )
    assert src.samples(rule("CpuUtilizationPercentage > 70 avg 10s"), 101.0) == [
        (100.0, 60.0),
        (101.0, 10.0),
    ]
    maxed = rule("CpuUtilizationPercentage > 70 avg 10s", timegrain="max 1s")
    assert src.samples(maxed, 101.0)[0] == (100.0, 80.0)


def test_requests_sum_over_status_codes_and_missing_grains_are_zero(tmp_path: Path) -> None:
    src = source(tmp_path)
    dims = {"deployment": "blue"}
    put(
        src,
        [
            (1.0, "blue", "", "ConcurrentRequestsPerInstance", dims, 0.0),
            (2.0, "blue", "", "ConcurrentRequestsPerInstance", dims, 1.0),
            (2.0, "blue", "", "RequestsPerMinute", {**dims, "statusCode": "200"}, 60.0),
            (2.0, "blue", "", "RequestsPerMinute", {**dims, "statusCode": "424"}, 30.0),
        ],
    )
    assert src.samples(rule("RequestsPerMinute > 1 avg 10s"), 3.0) == [(1.0, 0.0), (2.0, 90.0)]
    assert src.last_activity("ep", "blue") == 2.0


def test_endpoint_rule_filters_by_dimension(tmp_path: Path) -> None:
    src = source(tmp_path)
    put(
        src,
        [
            (5.0, "blue", "", "RequestLatency", {"deployment": "blue"}, 100.0),
            (5.0, "green", "", "RequestLatency", {"deployment": "green"}, 10.0),
        ],
    )
    both = rule("RequestLatency > 70 avg 10s", resource=EP)
    assert src.samples(both, 6.0) == [(5.0, 55.0)]
    blue = rule("RequestLatency > 70 avg 10s where Deployment == blue", resource=EP)
    assert src.samples(blue, 6.0) == [(5.0, 100.0)]
    not_blue = rule("RequestLatency > 70 avg 10s where deployment != BLUE", resource=EP)
    assert src.samples(not_blue, 6.0) == [(5.0, 10.0)]


def test_window_merge_and_fine_records() -> None:
    a, b = Window(started=0.0), Window(started=1.0)
    for window, ms in ((a, 10.0), (b, 30.0)):
        window.requests[("ep", "blue", 200, "200")] = 2
        window.latency[("ep", "blue")] = [2, 2 * ms, [0] * 200]
        window.network_bytes["ep"] = 100
    a.merge(b)
    assert a.requests[("ep", "blue", 200, "200")] == 4
    assert a.latency[("ep", "blue")][:2] == [4, 80.0]
    assert a.network_bytes["ep"] == 200
    records = fine_records(b, [DeploymentLoad("ep", "blue", 6.0, 3)], now=2.0)
    by_name = {r.name: r for r in records}
    assert by_name["ConcurrentRequestsPerInstance"].value == 2.0
    assert by_name["DeploymentCapacity"].value == 3.0
    assert by_name["RequestsPerMinute"].value == 120.0  # 2 requests in 1 s
    zero = fine_records(Window(started=1.0), [DeploymentLoad("ep", "blue", 2.0, 0)], now=2.0)
    assert [r.value for r in zero if r.name == "ConcurrentRequestsPerInstance"] == [2.0]
    assert json.dumps(by_name["RequestLatency"].dimensions) == '{"deployment": "blue"}'
