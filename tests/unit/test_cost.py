"""Cost: instance lifetimes from events, instance-hours × price per window, the price table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from switchman.controlplane.cost import (
    PriceTable,
    Usage,
    cost_rows,
    endpoint_totals,
    instance_usage,
    load_prices,
    window_starts,
)
from switchman.errors import BadArgumentError
from switchman.home import Home
from switchman.spec.sku import SKUS

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0


def ev(t: float, name: str, instance: str | None = "blue-1", deployment: str = "blue") -> dict:
    return {
        "time": t,
        "endpoint": "ep",
        "deployment": deployment,
        "instance": instance,
        "name": name,
    }


def test_an_instance_runs_from_created_to_its_first_end_event() -> None:
    events = [
        ev(NOW - 3 * HOUR, "Created"),
        ev(NOW - 3 * HOUR, "Started"),
        ev(NOW - 3 * HOUR + 2, "Ready"),
        ev(NOW - HOUR, "Killing"),
        ev(NOW - HOUR + 5, "Failed"),
    ]
    [usage] = instance_usage(events, live=set(), now=NOW)
    assert (usage.start, usage.end) == (NOW - 3 * HOUR, NOW - HOUR)


def test_a_live_instance_runs_until_now() -> None:
    [usage] = instance_usage(
        [ev(NOW - HOUR, "Created"), ev(NOW - HOUR + 1, "Ready")], {"blue-1"}, NOW
    )
    assert usage.end == NOW


def test_a_deleted_deployment_ends_its_instances() -> None:
    events = [
        ev(NOW - 2 * HOUR, "Created"),
        ev(NOW - 2 * HOUR + 1, "Ready"),
        ev(NOW - HOUR, "Deleted", instance=None),
    ]
    [usage] = instance_usage(events, live=set(), now=NOW)
    assert usage.end == NOW - HOUR


def test_a_gone_instance_without_an_end_event_ends_at_its_last_event() -> None:
    events = [ev(NOW - 2 * HOUR, "Created"), ev(NOW - 90 * 60, "Ready")]
    [usage] = instance_usage(events, live=set(), now=NOW)
    assert usage.end == NOW - 90 * 60


def test_windows_start_at_utc_midnight_and_7_and_30_days_back() -> None:
    starts = window_starts(NOW)
    assert starts["today"] == NOW - 12 * HOUR
    assert starts["7d"] == NOW - 7 * 86400
    assert starts["30d"] == NOW - 30 * 86400


def test_cost_is_instance_hours_times_the_hourly_price_per_window() -> None:
    prices = PriceTable(prices={"standard_ds3_v2": 0.5, "standard_f2s_v2": 0.1})
    usages = [
        # 14 h yesterday and today: 12 h of it today
        Usage("b1", "ep", "blue", NOW - 14 * HOUR, NOW),
        # two instances of green, 2 days ago, 10 h each
        Usage("g1", "ep", "green", NOW - 3 * 86400, NOW - 3 * 86400 + 10 * HOUR),
        Usage("g2", "ep", "green", NOW - 3 * 86400, NOW - 3 * 86400 + 10 * HOUR),
    ]
    types = {
        ("ep", "blue"): "Standard_DS3_v2",
        ("ep", "green"): "Standard_F2s_v2",
        ("ep", "idle"): "Standard_F2s_v2",
    }
    rows = {r["deployment"]: r for r in cost_rows(usages, types, prices, NOW)}
    assert rows["blue"]["instance_hours_today"] == 12.0
    assert rows["blue"]["cost_today"] == 6.0
    assert rows["blue"]["cost_7d"] == 7.0
    assert rows["green"]["cost_today"] == 0.0
    assert rows["green"]["instance_hours_7d"] == 20.0
    assert rows["green"]["cost_30d"] == 2.0
    assert rows["idle"]["cost_30d"] == 0.0
    [total] = endpoint_totals(rows.values())
    assert total == {"endpoint": "ep", "cost_today": 6.0, "cost_7d": 9.0, "cost_30d": 9.0}


def test_an_unknown_sku_has_hours_but_no_price() -> None:
    rows = cost_rows([Usage("x", "ep", "old", NOW - HOUR, NOW)], {}, PriceTable(prices={}), NOW)
    assert rows[0]["instance_hours_today"] == 1.0
    assert rows[0]["cost_today"] is None and rows[0]["price_per_hour"] is None


def test_the_built_in_table_prices_every_sku_of_the_catalogue_and_is_dated() -> None:
    table = load_prices()
    assert table.taken and table.currency == "USD"
    assert all(table.hourly(sku.name) is not None for sku in SKUS.values())


def test_the_home_price_file_overrides_rows(tmp_path: Path) -> None:
    (tmp_path / "prices.json").write_text(json.dumps({"prices": {"Standard_DS3_v2": 0.01}}))
    table = load_prices(Home(tmp_path))
    assert table.hourly("standard_ds3_v2") == 0.01
    assert table.hourly("Standard_F2s_v2") == load_prices().hourly("Standard_F2s_v2")
    assert table.overridden == ["standard_ds3_v2"]
    assert table.override_file == str(tmp_path / "prices.json")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('{"prices": {"Standard_DS3_v2": "cheap"}}', "non-negative number"),
        ('{"prices": {"Standard_DS3_v2": -1}}', "non-negative number"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_a_bad_price_file_is_named_in_the_error(tmp_path: Path, text: str, needle: str) -> None:
    (tmp_path / "prices.json").write_text(text)
    with pytest.raises(BadArgumentError, match=needle) as info:
        load_prices(Home(tmp_path))
    assert str(tmp_path / "prices.json") in info.value.message
