"""Chart data for the studio: roll-ups bucketed in SQLite, shaped for uPlot."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from switchman.errors import BadArgumentError
from switchman.studio.telemetry import align, charts, roll_up_interval, window_seconds

NOW = 1_000_000.0


def test_align_places_values_and_leaves_gaps() -> None:
    out = align(
        [("blue", 0, 20.0), ("green", 2, 4.0), ("blue", 7, 1.0)], start=100.0, end=130.0, step=10.0
    )
    assert out["x"] == [100.0, 110.0, 120.0]
    assert out["series"] == [
        {"label": "blue", "values": [20.0, None, None]},
        {"label": "green", "values": [None, None, 4.0]},
    ]


def test_roll_up_interval_is_the_median_gap() -> None:
    assert roll_up_interval([0, 0, 60, 120, 180, 300]) == 60.0
    assert roll_up_interval([]) == 60.0
    assert roll_up_interval([5.0]) == 60.0


def test_unknown_window_names_the_choices() -> None:
    assert window_seconds("1h") == 3600.0
    with pytest.raises(BadArgumentError, match="15m, 1h, 24h"):
        window_seconds("2h")


def _db(
    tmp_path: Path, rows: list[tuple[float, str, str, str, str, dict[str, str], float]]
) -> Path:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE metrics (time REAL, endpoint TEXT, deployment TEXT, instance TEXT, "
            "name TEXT, dimensions TEXT, value REAL)"
        )
        conn.executemany(
            "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(t, ep, d, i, n, json.dumps(dims), v) for t, ep, d, i, n, dims, v in rows],
        )
    return path


def test_charts_sum_one_roll_up_average_a_bucket_and_keep_the_worst_latency(tmp_path: Path) -> None:
    t1, t2 = NOW - 300.0, NOW - 290.0  # two roll-ups, 10 s apart
    rows = []
    for t, ok, failed, p99 in ((t1, 10.0, 2.0, 5.0), (t2, 30.0, 0.0, 9.0)):
        rows += [
            (t, "ep", "blue", "", "RequestsPerMinute", {"statusCode": "200"}, ok),
            (t, "ep", "blue", "", "RequestsPerMinute", {"statusCode": "424"}, failed),
            (t, "ep", "blue", "", "RequestLatency_P99", {}, p99),
            (t, "ep", "blue", "blue-1", "DeploymentCapacity", {"State": "Ready"}, 1.0),
            (t, "ep", "blue", "blue-2", "DeploymentCapacity", {"State": "Ready"}, 1.0),
        ]
    rows.append((t1, "other", "blue", "", "RequestsPerMinute", {"statusCode": "200"}, 999.0))
    rows.append((NOW - 5000, "ep", "blue", "", "RequestsPerMinute", {"statusCode": "200"}, 999.0))
    found = {c["key"]: c for c in charts(_db(tmp_path, rows), "ep", "15m", NOW)["charts"]}
    # 15 min / 180 points = 5 s buckets; the roll-up interval (10 s) is larger, so 10 s buckets.
    assert charts(tmp_path / "state.db", "ep", "15m", NOW)["step_s"] == 10.0

    def points(key: str) -> dict[str, list[float]]:
        return {s["label"]: [v for v in s["values"] if v is not None] for s in found[key]["series"]}

    assert points("rpm") == {"blue": [12.0, 30.0]}  # statuses of one roll-up summed
    assert points("rpm_status") == {"blue 200": [10.0, 30.0], "blue 424": [2.0, 0.0]}
    assert points("p99") == {"blue": [5.0, 9.0]}
    assert points("capacity") == {"blue Ready": [2.0, 2.0]}  # instances of one roll-up summed


def test_a_24h_bucket_averages_rates_and_keeps_the_worst_latency(tmp_path: Path) -> None:
    rows = []
    for k in range(8):  # eight 60-s roll-ups inside one 480-s bucket of the 24 h window
        t = NOW - 86400 + 10 + k * 60
        rows.append((t, "ep", "blue", "", "RequestsPerMinute", {"statusCode": "200"}, float(k)))
        rows.append((t, "ep", "blue", "", "RequestLatency_P99", {}, float(k)))
    out = charts(_db(tmp_path, rows), "ep", "24h", NOW)
    assert out["step_s"] == 480.0
    found = {c["key"]: c for c in out["charts"]}
    assert [v for v in found["rpm"]["series"][0]["values"] if v is not None] == [3.5]
    assert [v for v in found["p99"]["series"][0]["values"] if v is not None] == [7.0]


def test_no_table_yet_means_empty_charts(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "state.db").close()
    out = charts(tmp_path / "state.db", "ep", "1h", NOW)
    assert all(c["series"] == [] for c in out["charts"])
    assert charts(tmp_path / "missing.db", "ep", "1h", NOW)["charts"][0]["series"] == []
