"""Chart series for the studio: bucketing roll-ups into uPlot's aligned shape."""

from __future__ import annotations

import pytest

from switchman.errors import BadArgumentError
from switchman.studio.telemetry import align, roll_up_interval, window_seconds


def test_rows_of_one_roll_up_sum_and_buckets_average() -> None:
    rows = [
        (100.0, "blue", 10.0),  # two status codes of one roll-up: summed
        (100.0, "blue", 5.0),
        (105.0, "blue", 25.0),  # same bucket, next roll-up: averaged with 15
        (125.0, "green", 4.0),
    ]
    out = align(rows, start=100.0, end=130.0, step=10.0)
    assert out["x"] == [100.0, 110.0, 120.0]
    assert out["series"] == [
        {"label": "blue", "values": [20.0, None, None]},
        {"label": "green", "values": [None, None, 4.0]},
    ]


def test_latency_buckets_keep_the_worst_value() -> None:
    rows = [(0.0, "blue", 3.0), (1.0, "blue", 9.0)]
    out = align(rows, start=0.0, end=10.0, step=10.0, same_time="avg", over_time="max")
    assert out["series"][0]["values"] == [9.0]


def test_rows_outside_the_window_are_dropped() -> None:
    out = align([(50.0, "a", 1.0), (200.0, "a", 1.0)], start=100.0, end=150.0, step=25.0)
    assert out["series"] == []


def test_roll_up_interval_is_the_median_gap() -> None:
    assert roll_up_interval([0, 0, 60, 120, 180, 300]) == 60.0
    assert roll_up_interval([]) == 60.0
    assert roll_up_interval([5.0]) == 60.0


def test_unknown_window_names_the_choices() -> None:
    assert window_seconds("1h") == 3600.0
    with pytest.raises(BadArgumentError, match="15m, 1h, 24h"):
        window_seconds("2h")
