"""Answer comparison and agreement statistics, the router tap's pairing, and replay pacing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from switchman.dataplane.message import Request, Response
from switchman.dataplane.table import Deployment, Endpoint, PayloadCapture, RouteTable
from switchman.dataplane.tap import Tap
from switchman.errors import BadArgumentError
from switchman.rollout import shadowstore
from switchman.rollout.agreement import AgreementStats, compare
from switchman.rollout.replay import Recorded, load, replay, send_times


def test_compare_exact_numeric_and_shape_mismatches() -> None:
    same = compare(200, b"[1, 2.0]", 200, b"[1.0,2]")
    assert same.exact and same.status_agrees and same.diffs == (0.0, 0.0)
    near = compare(200, b'{"y": [1.0, 2.0], "label": "a"}', 200, b'{"y": [1.5, 1.0], "label": "a"}')
    assert not near.exact and near.diffs == (0.5, 1.0)
    assert compare(200, b"[1, 2]", 200, b"[1, 2, 3]").diffs is None  # shapes differ
    assert compare(200, b'{"a": 1}', 200, b'{"b": 1}').diffs is None
    text = compare(200, b"ok", 200, b"ok")
    assert text.exact and text.diffs is None
    status = compare(200, b"[1]", 424, b"[1]")
    assert not status.status_agrees and not status.exact
    assert compare(200, b"[true]", 200, b"[1]").diffs is None  # bools are not numbers


def test_stats_merge_and_report_with_the_contract_field_names() -> None:
    a, b = AgreementStats(), AgreementStats()
    for _ in range(90):
        a.add(compare(200, b"[1.0]", 200, b"[1.0]"), 10.0, 20.0)
    for _ in range(10):
        b.add(compare(200, b"[1.0]", 200, b"[2.0]"), 10.0, 40.0)
    total = AgreementStats.from_json(a.to_json())
    total.merge(AgreementStats.from_json(b.to_json()))
    report = total.report("blue", "green")
    assert set(report) >= {
        "live", "shadow", "pairs", "exact_match_rate", "status_agreement_rate",
        "abs_diff_p50", "abs_diff_p90", "abs_diff_p99", "live_latency_ms_p50",
        "live_latency_ms_p99", "shadow_latency_ms_p50", "shadow_latency_ms_p99",
    }  # fmt: skip
    assert report["pairs"] == 100 and report["exact_match_rate"] == 0.9
    assert report["abs_diff_p50"] == 0.0 and report["abs_diff_p90"] == 0.0
    assert report["abs_diff_p99"] == pytest.approx(1.0, rel=0.05)
    assert report["live_latency_ms_p50"] == pytest.approx(10.0, rel=0.05)
    assert report["shadow_latency_ms_p99"] == pytest.approx(40.0, rel=0.05)
    empty = AgreementStats().report("blue", "green")
    assert (
        empty["pairs"] == 0 and empty["exact_match_rate"] is None and empty["abs_diff_p50"] is None
    )


def _request(body: bytes) -> Request:
    return Request("POST", "/endpoints/ep/score", b"", [(b"x-tag", b"t1")], body, 0.0, 0.0)


def _table(capture: PayloadCapture | None) -> RouteTable:
    deps = {
        n: Deployment(n, 5000, 1, (), capture if n == "blue" else None) for n in ("blue", "green")
    }
    endpoint = Endpoint("ep", "key", (), None, (("blue", 100),), (("green", 50),), deps)
    return RouteTable(1, {"ep": endpoint}, None)


def test_the_tap_pairs_halves_in_any_order_and_writes_rollups(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    tap = Tap(tmp_path, db, max_pairs=2, rollup_s=0.0)
    tap.install(_table(None))
    conn = sqlite3.connect(db)
    shadowstore.ensure_schema(conn)
    tap.mirrored("r1")
    tap.mirrored("r2")
    tap.mirrored("r3")  # over max_pairs: not compared, counted
    assert tap.pairs_skipped == 1
    tap.finished(_request(b"{}"), "ep", "green", "r1", True, Response(200, [], b"[2.0]"), 5.0)
    tap.finished(_request(b"{}"), "ep", "blue", "r1", False, Response(200, [], b"[1.0]"), 3.0)
    tap.finished(_request(b"{}"), "ep", "blue", "r2", False, Response(200, [], b"[1.0]"), 3.0)
    tap.finished(_request(b"{}"), "ep", "blue", "r9", False, Response(200, [], b"[1.0]"), 3.0)
    assert not tap._halves or len(tap._halves) == 3  # r9 was never mirrored: not queued
    tap.step(conn)
    tap.finished(_request(b"{}"), "ep", "green", "r2", True, Response(200, [], b"[1.0]"), 4.0)
    tap.step(conn)
    (report,) = shadowstore.reports(conn, "ep", 0.0)
    assert (report["live"], report["shadow"], report["pairs"]) == ("blue", "green", 2)
    assert report["exact_match_rate"] == 0.5
    counters = dict(conn.execute("SELECT name, value FROM tap_counters").fetchall())
    assert counters["shadow_pairs_compared"] == 2 and counters["shadow_pairs_skipped"] == 1
    conn.close()


def test_the_tap_captures_requests_and_responses_of_collecting_deployments(tmp_path: Path) -> None:
    tap = Tap(tmp_path, None, max_pending=2)
    tap.install(_table(PayloadCapture(1.0, 1.0, "hour", ("x-tag",))))
    tap.finished(_request(b'{"a": 1}'), "ep", "green", "r0", False, Response(200, [], b"1"), 1.0)
    for rid in ("r1", "r2", "r3"):
        tap.finished(
            _request(b'{"a": 1}'), "ep", "blue", rid, False, Response(200, [], b"[7]"), 1.0
        )
    assert tap.captures_dropped == 1  # bounded: the third waits for no one
    tap.step(None)
    tap.writer.close()
    root = tmp_path / "data-collection" / "ep"
    assert not (root / "green").exists()
    lines = [
        json.loads(x)
        for p in (root / "blue" / "request").rglob("*.jsonl")
        for x in p.read_text().splitlines()
    ]
    # r3 was dropped by the tap's queue, r2 by the writer's (both bounded at 2): counted, not waited
    assert [r["correlationid"] for r in lines] == ["r1"]
    assert tap.counters()["data_collection_dropped"] == 3
    assert lines[0]["data"] == {"a": 1} and lines[0]["headers"] == {"x-tag": "t1"}
    answers = [
        json.loads(x)
        for p in (root / "blue" / "response").rglob("*.jsonl")
        for x in p.read_text().splitlines()
    ]
    assert answers[0]["data"] == [7] and answers[0]["statuscode"] == 200
    (recorded,) = load(root / "blue", 10)  # what replay reads back: the request and its answer
    assert (recorded.id, json.loads(recorded.body), recorded.status) == ("r1", {"a": 1}, 200)
    assert recorded.response is not None and json.loads(recorded.response) == [7]


def test_large_and_non_json_payloads_replay_byte_for_byte(tmp_path: Path) -> None:
    tap = Tap(tmp_path, None)
    tap.install(_table(PayloadCapture(1.0, 1.0)))
    big = json.dumps({"data": ["x" * 1000] * 300}).encode()
    text = Request("POST", "/score", b"", [(b"content-type", b"text/plain")], b"a\nb", 0.0, 0.0)
    tap.finished(text, "ep", "blue", "t1", False, Response(200, [], b"\xff\x00"), 1.0)
    tap.finished(_request(big), "ep", "blue", "t2", False, Response(200, [], b"[1]"), 1.0)
    tap.step(None)
    tap.writer.close()
    found = {r.id: r for r in load(tmp_path / "data-collection" / "ep" / "blue", 10)}
    assert found["t1"].body == b"a\nb" and found["t1"].response == b"\xff\x00"
    assert json.loads(found["t2"].body) == json.loads(big)
    assert list((tmp_path / "data-collection").rglob("large/*.json"))


def test_replay_paces_and_compares_against_records(tmp_path: Path) -> None:
    assert send_times(3, 2.0, 10.0) == [10.0, 10.5, 11.0]
    capture = tmp_path / "capture.jsonl"
    capture.write_text(
        "\n".join(
            json.dumps({"request": {"x": i}, "response": [i], "latency_ms": 3.0}) for i in range(4)
        )
        + "\n"
    )
    items = load(capture, limit=3)
    assert [i.body for i in items] == [json.dumps({"x": i}).encode() for i in range(3)]
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    def send(deployment: str, body: bytes) -> tuple[int, bytes, float]:
        x = json.loads(body)["x"]
        return 200, json.dumps([x if x else 9]).encode(), 5.0

    report = replay(items, send, target="green", compare_with=None, rate=10.0, concurrency=1,
                    clock=lambda: clock[0], sleep=sleep)  # fmt: skip
    assert report["requests"] == 3 and report["pairs"] == 3
    assert report["exact_match_rate"] == pytest.approx(2 / 3)
    assert report["live"] == "recorded" and report["shadow"] == "green"
    assert sum(slept) == pytest.approx(0.2)
    with pytest.raises(BadArgumentError, match="does not exist"):
        load(tmp_path / "missing", 10)
    (tmp_path / "bad.jsonl").write_text("not json\n")
    with pytest.raises(BadArgumentError, match=r"bad\.jsonl:1"):
        load(tmp_path / "bad.jsonl", 10)
    assert isinstance(items[0], Recorded)
